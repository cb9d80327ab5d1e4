// Structural check of one VHDX file without its parents, for `hvreplica disk check`.
#pragma once

#include <string>

#include "vhdx/layer.h"

namespace hvr::vhdx {

// Never throws for problems inside the file: they become findings. I/O errors opening it still throw.
CheckFindings CheckFile(const std::string& path);

}  // namespace hvr::vhdx
