// Reading a schema-valid document into the plain structs. The schema has already fixed names, order and ranges;
// the reader still checks each step so a mismatched schema file fails cleanly instead of misreading.
#pragma once

#include <libxml/tree.h>

#include "document.hpp"
#include "headend/plugin/result.hpp"
#include "sep/codec.hpp"

namespace sep::detail {

template <Decodable T>
inline constexpr ExpectedRoot kRootOf{};
template <>
inline constexpr ExpectedRoot kRootOf<DeviceCapability>{kSepNamespace, "DeviceCapability"};
template <>
inline constexpr ExpectedRoot kRootOf<Time>{kSepNamespace, "Time"};
template <>
inline constexpr ExpectedRoot kRootOf<EndDevice>{kSepNamespace, "EndDevice"};
template <>
inline constexpr ExpectedRoot kRootOf<EndDeviceList>{kSepNamespace, "EndDeviceList"};
template <>
inline constexpr ExpectedRoot kRootOf<Registration>{kSepNamespace, "Registration"};
template <>
inline constexpr ExpectedRoot kRootOf<DeviceInformation>{kSepNamespace, "DeviceInformation"};
template <>
inline constexpr ExpectedRoot kRootOf<Response>{kSepNamespace, "Response"};
template <>
inline constexpr ExpectedRoot kRootOf<Error>{kSepNamespace, "Error"};
template <>
inline constexpr ExpectedRoot kRootOf<PowerStatus>{kSepNamespace, "PowerStatus"};
template <>
inline constexpr ExpectedRoot kRootOf<PEVBinding>{kExtNamespace, "PEVBinding"};
template <>
inline constexpr ExpectedRoot kRootOf<ReadingType>{kSepNamespace, "ReadingType"};
template <>
inline constexpr ExpectedRoot kRootOf<TariffProfileList>{kSepNamespace, "TariffProfileList"};
template <>
inline constexpr ExpectedRoot kRootOf<TariffProfile>{kSepNamespace, "TariffProfile"};
template <>
inline constexpr ExpectedRoot kRootOf<RateComponentList>{kSepNamespace, "RateComponentList"};
template <>
inline constexpr ExpectedRoot kRootOf<RateComponent>{kSepNamespace, "RateComponent"};
template <>
inline constexpr ExpectedRoot kRootOf<TimeTariffIntervalList>{kSepNamespace, "TimeTariffIntervalList"};
template <>
inline constexpr ExpectedRoot kRootOf<TimeTariffInterval>{kSepNamespace, "TimeTariffInterval"};
template <>
inline constexpr ExpectedRoot kRootOf<ConsumptionTariffIntervalList>{kSepNamespace, "ConsumptionTariffIntervalList"};
template <>
inline constexpr ExpectedRoot kRootOf<ConsumptionTariffInterval>{kSepNamespace, "ConsumptionTariffInterval"};

// Errors come back as xml.schema naming the line and element.
template <Decodable T>
headend::Result<T> read_document(const xmlNode* root);

}  // namespace sep::detail
