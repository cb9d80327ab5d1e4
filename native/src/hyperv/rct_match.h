// Which RCT id of a reference point belongs to which disk. A reference point lists
// VirtualDiskIdentifiers[i] and ResilientChangeTrackingIdentifiers[i] in the same order, but the
// identifiers name the disk's settings object of the VM at the time, not a file, and Hyper-V does not
// document how to relate them to a checkpoint's disks. Two rules, strongest first:
//  1. device key: the identifier and the disk's RASD InstanceID agree once the owner prefix
//     ("Microsoft:<vm or checkpoint GUID>") is removed — the controller/slot part is stable;
//  2. tracking GUID: an RCT id is "rctX:<GUID>:<sequence>"; the disk's own current id (virtdisk
//     GetVirtualDiskInformation CHANGE_TRACKING_STATE) carries the same GUID while its log continues.
// A disk that neither rule matches uniquely gets no id: the caller resynchronises it rather than
// risk reading another disk's changes.
#pragma once

#include <string>
#include <vector>

#include "hyperv/model.h"

namespace hvr::hyperv {

struct DiskForMatch {
  std::string instance_id;     // RASD InstanceID of the disk in the new checkpoint
  std::string current_rct_id;  // MostRecentId of the disk file, empty when unknown
};

struct RctMatch {
  std::string rct_id;  // empty: no safe match, resync this disk
  std::string rule;    // "device-key", "tracking-guid" or "none"
  std::string reason;  // for "none": why
};

// The part of a RASD InstanceID after "Microsoft:<GUID>\", upper-cased; the input when it has no prefix.
std::string DeviceKey(const std::string& instance_id);
// The GUID of "rctX:<GUID>:<sequence>", upper-cased; empty when the id has another shape.
std::string RctTrackingGuid(const std::string& rct_id);

std::vector<RctMatch> MatchRctIds(const ReferencePoint& previous, const std::vector<DiskForMatch>& disks);

}  // namespace hvr::hyperv
