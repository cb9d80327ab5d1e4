// Serialisation of the structures both the creator and the writer emit: headers, region tables,
// parent locators.
#pragma once

#include <cstdint>
#include <vector>

#include "vhdx/layer.h"

namespace hvr::vhdx {

std::vector<uint8_t> SerializeHeader(const Header& header);
std::vector<uint8_t> SerializeRegionTable(const std::vector<RegionEntry>& entries);
std::vector<uint8_t> SerializeLocator(const ParentLocator& locator);

}  // namespace hvr::vhdx
