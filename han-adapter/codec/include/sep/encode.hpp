// XML encoding of SEP resources: exact 2030.5 element order, the root element carries its namespace, text and
// attributes are escaped. The output is always well-formed (invalid UTF-8 and characters XML cannot carry become
// U+FFFD); it is schema-valid when the values respect the ranges documented in sep/types.hpp.
#pragma once

#include <string>

#include "sep/types.hpp"

namespace sep {

std::string encode(const DeviceCapability& value);
std::string encode(const Time& value);
std::string encode(const EndDevice& value);
std::string encode(const EndDeviceList& value);
std::string encode(const Registration& value);
std::string encode(const FunctionSetAssignmentsList& value);
std::string encode(const FunctionSetAssignments& value);
std::string encode(const DeviceInformation& value);
std::string encode(const Response& value);
std::string encode(const Error& value);
std::string encode(const PowerStatus& value);
std::string encode(const PEVBinding& value);
std::string encode(const ReadingType& value);
std::string encode(const TariffProfileList& value);
std::string encode(const TariffProfile& value);
std::string encode(const RateComponentList& value);
std::string encode(const RateComponent& value);
std::string encode(const TimeTariffIntervalList& value);
std::string encode(const TimeTariffInterval& value);
std::string encode(const ConsumptionTariffIntervalList& value);
std::string encode(const ConsumptionTariffInterval& value);
std::string encode(const MirrorUsagePointList& value);
std::string encode(const MirrorUsagePoint& value);
std::string encode(const MirrorMeterReadingList& value);
std::string encode(const MirrorMeterReading& value);
std::string encode(const MirrorReadingSet& value);
std::string encode(const Reading& value);
std::string encode(const UsagePointList& value);
std::string encode(const UsagePoint& value);
std::string encode(const MeterReadingList& value);
std::string encode(const MeterReading& value);
std::string encode(const ReadingSetList& value);
std::string encode(const ReadingSet& value);
std::string encode(const ReadingList& value);

std::string encode(const CustomerAccountList& value);
std::string encode(const CustomerAccount& value);
std::string encode(const CustomerAgreementList& value);
std::string encode(const CustomerAgreement& value);
std::string encode(const BillingPeriodList& value);
std::string encode(const BillingPeriod& value);
std::string encode(const HistoricalReadingList& value);
std::string encode(const HistoricalReading& value);

}  // namespace sep
