#include "headend/core/device_registry.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <future>
#include <mutex>

#include "encoding.hpp"
#include "han/identity.hpp"

namespace headend::core {

namespace {

using storage::Value;

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

// A 2030.5 registration PIN: five random digits and a check digit, as for SFDIs.
std::uint32_t new_pin() {
    std::array<unsigned char, 4> random{};
    RAND_bytes(random.data(), static_cast<int>(random.size()));
    const std::uint32_t base =
        (static_cast<std::uint32_t>(random[0]) << 16U | static_cast<std::uint32_t>(random[1]) << 8U | random[2]) %
        100000U;
    unsigned sum = 0;
    for (std::uint32_t v = base; v != 0; v /= 10)
        sum += v % 10;
    return base * 10 + (10 - sum % 10) % 10;
}

Device device_from_row(const storage::Row& row) {
    Device device;
    device.id = row.integer(0);
    device.type = *device_type_from_string(row.text(1));
    device.premises_id = row.optional_text(2);
    device.lfdi = row.text(3);
    device.sfdi = static_cast<std::uint64_t>(row.integer(4));
    device.psk_identity = row.optional_text(5);
    device.pin = static_cast<std::uint32_t>(row.integer(7));
    device.registered_by = row.optional_integer(8);
    device.created_at = row.integer(9);
    device.changed_at = row.integer(10);
    device.psk_expires_at = row.optional_integer(11);
    return device;
}

constexpr const char* kSelectDevices =
    "SELECT id, type, premises_id, lfdi, sfdi, psk_identity, psk_key, pin, registered_by, created_at, changed_at, "
    "psk_expires_at FROM devices";

Value optional_value(const std::optional<std::string>& text) {
    return text ? Value{*text} : Value{};
}

}  // namespace

std::string to_string(DeviceType type) {
    switch (type) {
        case DeviceType::Esci:
            return "esci";
        case DeviceType::Eumd:
            return "eumd";
        case DeviceType::Pev:
            return "pev";
        case DeviceType::Display:
            return "display";
    }
    return "unknown";
}

std::optional<DeviceType> device_type_from_string(const std::string& text) {
    if (text == "esci")
        return DeviceType::Esci;
    if (text == "eumd")
        return DeviceType::Eumd;
    if (text == "pev")
        return DeviceType::Pev;
    if (text == "display")
        return DeviceType::Display;
    return std::nullopt;
}

plugin::DeviceRecord to_record(const Device& device) {
    return plugin::DeviceRecord{device.id,   device.type,         device.premises_id,   device.lfdi,
                                device.sfdi, device.psk_identity, device.psk_expires_at};
}

std::string lfdi_for_psk_identity(const std::string& identity) {
    const std::string input = "psk-identity:" + identity;
    std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
    return han::lfdi_from_hash(digest);
}

std::vector<storage::Migration> DeviceRegistry::migrations() {
    return {{1, "devices and their information",
             R"(CREATE TABLE devices(
                  id INTEGER PRIMARY KEY,
                  type TEXT NOT NULL CHECK (type IN ('esci', 'eumd', 'pev', 'display')),
                  premises_id TEXT,
                  lfdi TEXT NOT NULL UNIQUE,
                  sfdi INTEGER NOT NULL,
                  psk_identity TEXT UNIQUE,
                  psk_key BLOB,
                  pin INTEGER NOT NULL,
                  registered_by INTEGER REFERENCES devices(id) ON DELETE SET NULL,
                  created_at INTEGER NOT NULL,
                  changed_at INTEGER NOT NULL);
                CREATE INDEX devices_by_premises ON devices(premises_id);
                CREATE TABLE device_information(
                  device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
                  document TEXT NOT NULL,
                  updated_at INTEGER NOT NULL);)"},
            {2, "PSK credentials with a lifetime (a PEV's re-bind credential)",
             "ALTER TABLE devices ADD COLUMN psk_expires_at INTEGER;"},
            // Plugins keep what a device did under its id (its mirrors, say): a removed device's id must never name
            // a new device, which a reused rowid would.
            {3, "device ids are never reused",
             R"(CREATE TABLE device_ids(last_id INTEGER NOT NULL);
                INSERT INTO device_ids(last_id) SELECT COALESCE(MAX(id), 0) FROM devices;)"}};
}

Result<std::unique_ptr<DeviceRegistry>> DeviceRegistry::load(storage::Database& database, const plugin::Clock& clock) {
    std::unique_ptr<DeviceRegistry> registry(new DeviceRegistry(database, clock));
    auto loaded = database.read([&](storage::Transaction& tx) -> Result<void> {
        auto rows = tx.query(kSelectDevices);
        if (!rows)
            return rows.error();
        for (const auto& row : *rows) {
            std::vector<std::uint8_t> key;
            if (!row.is_null(6))
                key = row.blob(6).bytes;
            registry->index(device_from_row(row), std::move(key));
        }
        return {};
    });
    if (!loaded)
        return loaded.error();
    return registry;
}

namespace {
std::optional<std::string> psk_problem(const std::string& identity, const std::vector<std::uint8_t>& key) {
    const bool printable =
        std::all_of(identity.begin(), identity.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    if (identity.empty() || identity.size() > 128 || !printable)
        return "PSK identity must be 1..128 printable ASCII characters without spaces";
    if (key.size() < 16 || key.size() > 64)
        return "PSK key must be 16..64 bytes (32..128 hex digits)";
    return std::nullopt;
}
}  // namespace

Result<NewDevice> DeviceRegistry::validate(NewDevice device) const {
    auto invalid = [](const std::string& message) { return make_error("device.invalid", message); };
    if (device.premises_id) {
        if (device.premises_id->empty() || device.premises_id->size() > 42) {
            return invalid("premises id must be 1..42 characters");
        }
    } else if (device.type != DeviceType::Pev) {
        return invalid("an " + to_string(device.type) + " belongs to a premises: --premises is required");
    }
    if (device.psk_identity) {
        if (auto problem = psk_problem(*device.psk_identity, device.psk_key))
            return invalid(*problem);
    } else if (!device.psk_key.empty()) {
        return invalid("a PSK key needs a PSK identity");
    }
    if (device.lfdi) {
        device.lfdi = upper(*device.lfdi);
        if (!han::is_lfdi(*device.lfdi))
            return invalid("LFDI must be 40 hex digits");
    } else if (device.psk_identity) {
        device.lfdi = lfdi_for_psk_identity(*device.psk_identity);
    } else {
        return invalid("a device needs a certificate, an LFDI or a PSK identity");
    }
    const auto bytes = decode_hex(*device.lfdi);
    const std::uint64_t derived = han::sfdi_from_hash(*bytes);
    if (device.sfdi && *device.sfdi != derived) {
        return invalid("SFDI " + std::to_string(*device.sfdi) + " does not belong to LFDI " + *device.lfdi);
    }
    device.sfdi = derived;
    if (device.pin && (*device.pin > 999999 || !han::sfdi_check_digit_ok(*device.pin)))
        return invalid("PIN " + std::to_string(*device.pin) +
                       " is not a registration PIN: up to 6 digits, the last a check digit as for SFDIs");
    return device;
}

void DeviceRegistry::add(NewDevice candidate, Done done) {
    auto checked = validate(std::move(candidate));
    if (!checked) {
        done(checked.error());
        return;
    }
    auto device = std::make_shared<Device>();
    auto key = std::make_shared<std::vector<std::uint8_t>>(checked->psk_key);
    device->type = checked->type;
    device->premises_id = checked->premises_id;
    device->lfdi = *checked->lfdi;
    device->sfdi = *checked->sfdi;
    device->psk_identity = checked->psk_identity;
    device->pin = checked->pin.value_or(new_pin());
    device->registered_by = checked->registered_by;
    device->created_at = device->changed_at = clock_.now();

    database_.write(
        [device, key](storage::Transaction& tx) -> Result<void> {
            auto next = tx.query("UPDATE device_ids SET last_id = last_id + 1 RETURNING last_id");
            if (!next)
                return next.error();
            const std::vector<Value> params = {next->front().integer(0),
                                               to_string(device->type),
                                               optional_value(device->premises_id),
                                               device->lfdi,
                                               static_cast<std::int64_t>(device->sfdi),
                                               optional_value(device->psk_identity),
                                               key->empty() ? Value{} : Value{storage::Blob{*key}},
                                               static_cast<std::int64_t>(device->pin),
                                               device->registered_by ? Value{*device->registered_by} : Value{},
                                               device->created_at,
                                               device->changed_at};
            auto inserted = tx.execute(
                "INSERT INTO devices(id, type, premises_id, lfdi, sfdi, psk_identity, psk_key, pin, registered_by, "
                "created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params);
            if (!inserted) {
                if (inserted.error().code == "storage.constraint") {
                    return make_error("device.duplicate",
                                      "a device with LFDI " + device->lfdi +
                                          (device->psk_identity ? " or PSK identity " + *device->psk_identity : "") +
                                          " is already registered");
                }
                return inserted.error();
            }
            device->id = next->front().integer(0);
            return {};
        },
        [this, device, key, done = std::move(done)](Result<void> committed) {
            if (!committed) {
                done(committed.error());
                return;
            }
            index(*device, std::move(*key));
            for (const auto& listener : listeners_)
                listener(*device, false);
            done(*device);
        });
}

Result<Device> DeviceRegistry::add_sync(NewDevice device) {
    std::promise<Result<Device>> promise;
    auto future = promise.get_future();
    add(std::move(device), [&promise](Result<Device> result) { promise.set_value(std::move(result)); });
    return future.get();
}

void DeviceRegistry::set_psk(std::int64_t id, std::string identity, std::vector<std::uint8_t> key,
                             std::optional<std::int64_t> expires_at, std::function<void(Result<void>)> done) {
    if (!find(id)) {
        done(make_error("device.not_found", "no device #" + std::to_string(id)));
        return;
    }
    if (auto problem = psk_problem(identity, key)) {
        done(make_error("device.invalid", *problem));
        return;
    }
    const std::int64_t now = clock_.now();
    auto credential =
        std::make_shared<std::pair<std::string, std::vector<std::uint8_t>>>(std::move(identity), std::move(key));
    database_.write(
        [id, now, credential, expires_at](storage::Transaction& tx) -> Result<void> {
            const std::vector<Value> params = {credential->first, storage::Blob{credential->second},
                                               expires_at ? Value{*expires_at} : Value{}, now, id};
            auto changed = tx.execute(
                "UPDATE devices SET psk_identity = ?, psk_key = ?, psk_expires_at = ?, changed_at = ? WHERE id = ?",
                params);
            if (!changed) {
                if (changed.error().code == "storage.constraint")
                    return make_error("device.duplicate", "PSK identity " + credential->first + " is already in use");
                return changed.error();
            }
            if (*changed == 0)
                return make_error("device.not_found", "no device #" + std::to_string(id));
            return {};
        },
        [this, id, now, credential, expires_at, done = std::move(done)](Result<void> committed) {
            if (committed) {
                std::unique_lock lock(mutex_);
                auto it = by_id_.find(id);
                if (it != by_id_.end()) {
                    if (it->second.psk_identity)
                        by_psk_.erase(*it->second.psk_identity);
                    it->second.psk_identity = credential->first;
                    it->second.psk_expires_at = expires_at;
                    it->second.changed_at = now;
                    by_psk_[credential->first] = {id, credential->second, expires_at};
                }
            }
            done(committed);
        });
}

Result<void> DeviceRegistry::remove(std::int64_t id) {
    if (!find(id))
        return make_error("device.not_found", "no device #" + std::to_string(id));
    auto removed = database_.write_sync([id](storage::Transaction& tx) -> Result<void> {
        const std::vector<Value> params = {id};
        auto changed = tx.execute("DELETE FROM devices WHERE id = ?", params);
        if (!changed)
            return changed.error();
        return {};
    });
    if (!removed)
        return removed;
    std::optional<Device> gone;
    {
        std::unique_lock lock(mutex_);
        auto it = by_id_.find(id);
        if (it != by_id_.end()) {
            gone = it->second;
            by_lfdi_.erase(it->second.lfdi);
            if (it->second.psk_identity)
                by_psk_.erase(*it->second.psk_identity);
            if (it->second.premises_id) {
                auto& ids = by_premises_[*it->second.premises_id];
                ids.erase(id);
                if (ids.empty())
                    by_premises_.erase(*it->second.premises_id);
            }
            by_id_.erase(it);
        }
    }
    if (gone) {
        for (const auto& listener : listeners_)
            listener(*gone, true);
    }
    return {};
}

void DeviceRegistry::on_change(Listener listener) {
    listeners_.push_back(std::move(listener));
}

void DeviceRegistry::index(const Device& device, std::vector<std::uint8_t> psk_key) {
    std::unique_lock lock(mutex_);
    by_id_[device.id] = device;
    by_lfdi_[device.lfdi] = device.id;
    if (device.premises_id)
        by_premises_[*device.premises_id].insert(device.id);
    if (device.psk_identity)
        by_psk_[*device.psk_identity] = {device.id, std::move(psk_key), device.psk_expires_at};
}

std::optional<Device> DeviceRegistry::find(std::int64_t id) const {
    std::shared_lock lock(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end())
        return std::nullopt;
    return it->second;
}

std::optional<Device> DeviceRegistry::find_lfdi(const std::string& lfdi) const {
    std::shared_lock lock(mutex_);
    auto it = by_lfdi_.find(upper(lfdi));
    if (it == by_lfdi_.end())
        return std::nullopt;
    return by_id_.at(it->second);
}

std::optional<Device> DeviceRegistry::find_psk_holder(const std::string& identity) const {
    std::shared_lock lock(mutex_);
    auto it = by_psk_.find(identity);
    if (it == by_psk_.end())
        return std::nullopt;
    return by_id_.at(it->second.device_id);
}

std::vector<Device> DeviceRegistry::list(const DeviceFilter& filter) const {
    std::vector<Device> result;
    const auto take = [&](const Device& device) {
        if (!filter.type || device.type == *filter.type)
            result.push_back(device);
    };
    {
        std::shared_lock lock(mutex_);
        // A premises has a handful of devices: find them through the index, not by walking every device.
        if (filter.premises_id) {
            if (auto ids = by_premises_.find(*filter.premises_id); ids != by_premises_.end()) {
                for (const auto id : ids->second)
                    take(by_id_.at(id));
            }
        } else {
            for (const auto& [id, device] : by_id_)
                take(device);
        }
    }
    std::sort(result.begin(), result.end(), [](const Device& a, const Device& b) { return a.id < b.id; });
    return result;
}

std::size_t DeviceRegistry::size() const {
    std::shared_lock lock(mutex_);
    return by_id_.size();
}

namespace {
han::RegisteredDevice registered(const Device& device) {
    return han::RegisteredDevice{device.id, device.type, device.premises_id, device.lfdi};
}
}  // namespace

std::optional<han::PskCredential> DeviceRegistry::find_psk(const std::string& identity) const {
    std::shared_lock lock(mutex_);
    auto it = by_psk_.find(identity);
    // An expired credential is as unknown as one never issued: the handshake fails the same way.
    if (it == by_psk_.end() || (it->second.expires_at && clock_.now() >= *it->second.expires_at))
        return std::nullopt;
    return han::PskCredential{it->second.key, registered(by_id_.at(it->second.device_id))};
}

std::optional<han::RegisteredDevice> DeviceRegistry::find_by_lfdi(const std::string& lfdi) const {
    std::shared_lock lock(mutex_);
    auto it = by_lfdi_.find(lfdi);
    if (it == by_lfdi_.end())
        return std::nullopt;
    return registered(by_id_.at(it->second));
}

}  // namespace headend::core
