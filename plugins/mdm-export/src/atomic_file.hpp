// A file that appears under its final name complete or not at all: written to a temporary name beside it, flushed
// to disk, renamed, and the folder flushed so the rename survives a power cut. Hashes (SHA-256) what it writes.
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "headend/plugin/result.hpp"

namespace mdm {

struct WrittenFile {
    std::int64_t bytes = 0;
    std::string sha256;  // lower-case hex
};

class AtomicFile {
public:
    // Errors "mdm.io" naming the path.
    static headend::Result<std::unique_ptr<AtomicFile>> create(const std::filesystem::path& final_path);
    ~AtomicFile();  // an uncommitted file is removed
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ostream& stream() { return stream_; }
    // Flushes, fsyncs, renames to the final name and fsyncs the folder. The stream is unusable afterwards.
    headend::Result<WrittenFile> commit();

private:
    class Buffer;
    AtomicFile(std::filesystem::path final_path, std::filesystem::path temporary, int fd);

    std::filesystem::path final_path_;
    std::filesystem::path temporary_;
    std::unique_ptr<Buffer> buffer_;
    std::ostream stream_;
    bool committed_ = false;
};

// Writes `content` to `path` atomically (the manifest).
headend::Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content);

// SHA-256 of a whole file, streamed (lower-case hex); errors "mdm.io".
headend::Result<std::string> sha256_of_file(const std::filesystem::path& path);

}  // namespace mdm
