#include "atomic_file.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace mdm {

namespace {

using headend::make_error;
using headend::Result;

headend::Error io_error(const std::filesystem::path& path, std::string_view what) {
    return make_error("mdm.io", std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

std::string hex(const unsigned char* bytes, unsigned length) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned i = 0; i < length; ++i) {
        out += kDigits[bytes[i] >> 4];
        out += kDigits[bytes[i] & 0xF];
    }
    return out;
}

struct DigestDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestDeleter>;

Digest new_sha256() {
    Digest digest(EVP_MD_CTX_new());
    if (!digest || EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr) != 1)
        throw std::bad_alloc();
    return digest;
}

std::string finish(EVP_MD_CTX* digest) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned length = 0;
    EVP_DigestFinal_ex(digest, hash.data(), &length);
    return hex(hash.data(), length);
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

Result<void> sync_folder(const std::filesystem::path& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error(folder, "opening folder");
    const int synced = ::fsync(fd);
    ::close(fd);
    if (synced != 0)
        return io_error(folder, "syncing folder");
    return {};
}

}  // namespace

// Buffers writes, hashes them and remembers the first write error (an ostream only knows "bad").
class AtomicFile::Buffer final : public std::streambuf {
public:
    explicit Buffer(int fd) : fd_(fd), digest_(new_sha256()) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
    ~Buffer() override {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    bool drain() {
        const auto size = static_cast<std::size_t>(pptr() - pbase());
        if (size == 0)
            return failed_errno_ == 0;
        EVP_DigestUpdate(digest_.get(), pbase(), size);
        bytes_ += static_cast<std::int64_t>(size);
        if (failed_errno_ == 0 && !write_all(fd_, pbase(), size))
            failed_errno_ = errno != 0 ? errno : EIO;
        setp(buffer_.data(), buffer_.data() + buffer_.size());
        return failed_errno_ == 0;
    }
    int fd() const { return fd_; }
    int failed_errno() const { return failed_errno_; }
    std::int64_t bytes() const { return bytes_; }
    std::string sha256() { return finish(digest_.get()); }
    void close() {
        ::close(fd_);
        fd_ = -1;
    }

protected:
    int_type overflow(int_type c) override {
        if (!drain())
            return traits_type::eof();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override { return drain() ? 0 : -1; }

private:
    int fd_;
    Digest digest_;
    std::array<char, 1 << 16> buffer_{};
    std::int64_t bytes_ = 0;
    int failed_errno_ = 0;
};

AtomicFile::AtomicFile(std::filesystem::path final_path, std::filesystem::path temporary, int fd)
    : final_path_(std::move(final_path)),
      temporary_(std::move(temporary)),
      buffer_(std::make_unique<Buffer>(fd)),
      stream_(buffer_.get()) {}

AtomicFile::~AtomicFile() {
    if (!committed_) {
        buffer_.reset();
        std::error_code ignored;
        std::filesystem::remove(temporary_, ignored);
    }
}

Result<std::unique_ptr<AtomicFile>> AtomicFile::create(const std::filesystem::path& final_path) {
    // A leftover temporary from a crash is removed and written again in full. Whatever stands at that name is
    // unlinked, never followed: a symlink planted there cannot redirect the write.
    auto temporary = final_path;
    temporary.replace_filename("." + final_path.filename().string() + ".partial");
    if (::unlink(temporary.c_str()) != 0 && errno != ENOENT)
        return io_error(temporary, "removing the leftover");
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return io_error(temporary, "creating");
    return std::unique_ptr<AtomicFile>(new AtomicFile(final_path, temporary, fd));
}

Result<WrittenFile> AtomicFile::commit() {
    stream_.flush();
    buffer_->drain();
    if (buffer_->failed_errno() != 0) {
        errno = buffer_->failed_errno();
        return io_error(temporary_, "writing");
    }
    if (::fsync(buffer_->fd()) != 0)
        return io_error(temporary_, "syncing");
    buffer_->close();
    if (::rename(temporary_.c_str(), final_path_.c_str()) != 0)
        return io_error(final_path_, "renaming to");
    committed_ = true;
    if (auto synced = sync_folder(final_path_.parent_path()); !synced)
        return synced.error();
    return WrittenFile{buffer_->bytes(), buffer_->sha256()};
}

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content) {
    auto file = AtomicFile::create(path);
    if (!file)
        return file.error();
    (*file)->stream().write(content.data(), static_cast<std::streamsize>(content.size()));
    auto written = (*file)->commit();
    if (!written)
        return written.error();
    return {};
}

Result<std::string> sha256_of_file(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(path, "opening");
    auto digest = new_sha256();
    std::array<char, 1 << 16> chunk{};
    for (;;) {
        const ssize_t got = ::read(fd, chunk.data(), chunk.size());
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            auto error = io_error(path, "reading");
            ::close(fd);
            return error;
        }
        if (got == 0)
            break;
        EVP_DigestUpdate(digest.get(), chunk.data(), static_cast<std::size_t>(got));
    }
    ::close(fd);
    return finish(digest.get());
}

}  // namespace mdm
