// Points a differencing layer at another parent file that shows the same content (after a merge, the
// file its old parent was merged into), as Hyper-V does when it removes a merged checkpoint.
#pragma once

#include <string>

namespace hvr::vhdx {

// Proves first that `new_parent_path` shows exactly what the child's current parent shows: either its
// DataWriteGuid is the child's parent_linkage (the same content, e.g. a moved file), or the two chains
// read the same bytes everywhere the layers above their common base differ from it (only what those
// layers hold is read). Otherwise ERR_VHDX_PARENT_MISMATCH and nothing changes. Then the child's parent
// locator is rewritten through the VHDX log in one entry (parent_linkage = the new parent's
// DataWriteGuid, relative and absolute paths), so a crash leaves the old or the new parent, both valid.
// The child's own DataWriteGuid does not change: layers above it stay linked. Running it again is
// harmless. Callers keep writers away from the chain meanwhile (a parent written after the check
// breaks the child's linkage visibly, never silently).
void ReparentDisk(const std::string& child_path, const std::string& new_parent_path);

}  // namespace hvr::vhdx
