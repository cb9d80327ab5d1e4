// Merges a differencing layer into its parent so that the parent alone shows what the child showed.
#pragma once

#include <string>

namespace hvr::vhdx {

// Crash-safe and resumable: the child first records the parent's future DataWriteGuid as
// parent_linkage2, so the chain stays readable (and the merge can be run again) at every instant.
// The child is left in place, relinked to the merged parent.
void MergeDisk(const std::string& child_path);

}  // namespace hvr::vhdx
