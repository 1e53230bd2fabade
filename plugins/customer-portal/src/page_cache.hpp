// Rendered parts of pages that depend only on stored data of one version (the usage chart and its table on the
// newest interval change): kept so a customer's reloads, and many customers of one building, skip the work. Bounded:
// the least recently used entry goes when it is full. Entries of another version are never returned.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace portal {

class PageCache {
public:
    // Capacity 0: nothing is kept.
    explicit PageCache(std::size_t capacity) : capacity_(capacity) {}

    std::optional<std::string> find(const std::string& key, std::int64_t version) {
        std::lock_guard lock(mutex_);
        const auto it = index_.find(key);
        if (it == index_.end() || it->second->version != version)
            return std::nullopt;
        entries_.splice(entries_.begin(), entries_, it->second);
        return it->second->content;
    }

    void put(const std::string& key, std::int64_t version, std::string content) {
        if (capacity_ == 0)
            return;
        std::lock_guard lock(mutex_);
        if (const auto it = index_.find(key); it != index_.end()) {
            entries_.erase(it->second);
            index_.erase(it);
        }
        entries_.push_front({key, version, std::move(content)});
        index_[key] = entries_.begin();
        if (entries_.size() > capacity_) {
            index_.erase(entries_.back().key);
            entries_.pop_back();
        }
    }

private:
    struct Entry {
        std::string key;
        std::int64_t version = 0;
        std::string content;
    };
    std::mutex mutex_;
    std::size_t capacity_;
    std::list<Entry> entries_;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace portal
