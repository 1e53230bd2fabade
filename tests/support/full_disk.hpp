// A full disk for SQLite, on demand: a VFS made the process's default that passes everything to the real one,
// except that while the disk is "full" every write and every growth of a file fails with SQLITE_FULL, as a file
// system out of space would. Install it before the database is opened.
#pragma once

namespace headend::testing {

class FullDisk {
public:
    static void install();  // once per process; idempotent
    static void set(bool full);
};

}  // namespace headend::testing
