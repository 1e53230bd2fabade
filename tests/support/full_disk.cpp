#include "support/full_disk.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace headend::testing {

namespace {

std::atomic<bool> g_full{false};
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs{};
sqlite3_io_methods g_methods{};

// Our file: the real VFS's file follows it in the same allocation.
struct File {
    sqlite3_file base;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

File* of(sqlite3_file* file) {
    return reinterpret_cast<File*>(file);
}

int write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    if (g_full)
        return SQLITE_FULL;
    return of(file)->real()->pMethods->xWrite(of(file)->real(), data, amount, offset);
}
int truncate(sqlite3_file* file, sqlite3_int64 size) {
    return of(file)->real()->pMethods->xTruncate(of(file)->real(), size);
}
int close(sqlite3_file* file) {
    return of(file)->real()->pMethods->xClose(of(file)->real());
}
int read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
    return of(file)->real()->pMethods->xRead(of(file)->real(), data, amount, offset);
}
int sync(sqlite3_file* file, int flags) {
    return of(file)->real()->pMethods->xSync(of(file)->real(), flags);
}
int file_size(sqlite3_file* file, sqlite3_int64* size) {
    return of(file)->real()->pMethods->xFileSize(of(file)->real(), size);
}
int lock(sqlite3_file* file, int level) {
    return of(file)->real()->pMethods->xLock(of(file)->real(), level);
}
int unlock(sqlite3_file* file, int level) {
    return of(file)->real()->pMethods->xUnlock(of(file)->real(), level);
}
int check_reserved_lock(sqlite3_file* file, int* out) {
    return of(file)->real()->pMethods->xCheckReservedLock(of(file)->real(), out);
}
int file_control(sqlite3_file* file, int op, void* arg) {
    // Growing a file ahead of writes is a write too.
    if (g_full && op == SQLITE_FCNTL_SIZE_HINT)
        return SQLITE_FULL;
    return of(file)->real()->pMethods->xFileControl(of(file)->real(), op, arg);
}
int sector_size(sqlite3_file* file) {
    return of(file)->real()->pMethods->xSectorSize(of(file)->real());
}
int device_characteristics(sqlite3_file* file) {
    return of(file)->real()->pMethods->xDeviceCharacteristics(of(file)->real());
}
int shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
    return of(file)->real()->pMethods->xShmMap(of(file)->real(), page, size, extend, out);
}
int shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    return of(file)->real()->pMethods->xShmLock(of(file)->real(), offset, n, flags);
}
void shm_barrier(sqlite3_file* file) {
    of(file)->real()->pMethods->xShmBarrier(of(file)->real());
}
int shm_unmap(sqlite3_file* file, int remove) {
    return of(file)->real()->pMethods->xShmUnmap(of(file)->real(), remove);
}
int fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    return of(file)->real()->pMethods->xFetch(of(file)->real(), offset, amount, out);
}
int unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
    return of(file)->real()->pMethods->xUnfetch(of(file)->real(), offset, page);
}

int open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    std::memset(file, 0, sizeof(File));
    const int opened = g_real->xOpen(g_real, name, of(file)->real(), flags, out_flags);
    // A file the real VFS did not open has no methods; SQLite then closes nothing.
    file->pMethods = of(file)->real()->pMethods != nullptr ? &g_methods : nullptr;
    return opened;
}

}  // namespace

void FullDisk::install() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_real = sqlite3_vfs_find(nullptr);
        g_vfs = *g_real;
        g_vfs.zName = "full-disk";
        g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_real->szOsFile;
        g_vfs.xOpen = open;
        g_methods = sqlite3_io_methods{3,
                                       close,
                                       read,
                                       write,
                                       truncate,
                                       sync,
                                       file_size,
                                       lock,
                                       unlock,
                                       check_reserved_lock,
                                       file_control,
                                       sector_size,
                                       device_characteristics,
                                       shm_map,
                                       shm_lock,
                                       shm_barrier,
                                       shm_unmap,
                                       fetch,
                                       unfetch};
        sqlite3_vfs_register(&g_vfs, 1);
    });
}

void FullDisk::set(bool full) {
    g_full = full;
}

}  // namespace headend::testing
