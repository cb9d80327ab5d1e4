// Creates new VHDX files: dynamic, fixed and differencing, laid out as Hyper-V lays them out.
#pragma once

#include <cstdint>
#include <string>

#include "vhdx/layer.h"

namespace hvr::vhdx {

struct CreateParams {
  DiskType type = DiskType::kDynamic;
  uint64_t virtual_size = 0;  // ignored for differencing (taken from the parent)
  uint32_t block_size = 32u << 20;
  uint32_t logical_sector_size = 512;   // ignored for differencing
  uint32_t physical_sector_size = 4096; // ignored for differencing
  std::string parent_path;              // differencing only
};

// Fails with ERR_ALREADY_EXISTS when `path` exists; ERR_INVALID_ARGUMENT for bad parameters.
void CreateDisk(const std::string& path, const CreateParams& params);

}  // namespace hvr::vhdx
