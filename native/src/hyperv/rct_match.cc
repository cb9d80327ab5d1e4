#include "hyperv/rct_match.h"

#include <algorithm>
#include <cctype>

#include "core/native_error.h"

namespace hvr::hyperv {
namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

std::string DeviceKey(const std::string& instance_id) {
  const std::string prefix = "MICROSOFT:";
  std::string up = Upper(instance_id);
  if (up.compare(0, prefix.size(), prefix) != 0) return up;
  size_t slash = up.find('\\', prefix.size());
  if (slash == std::string::npos) return up;
  return up.substr(slash + 1);
}

std::string RctTrackingGuid(const std::string& rct_id) {
  // rctX:5bfde23b:ce75:4303:b54f:6c18394f105c:00000001 — the GUID's dashes are colons here.
  std::string up = Upper(rct_id);
  if (up.size() < 5 || up.compare(0, 3, "RCT") != 0) return {};
  size_t first = up.find(':');
  size_t last = up.rfind(':');
  if (first == std::string::npos || last == first) return {};
  std::string guid = up.substr(first + 1, last - first - 1);
  if (guid.size() != 36) return {};
  return guid;
}

std::vector<RctMatch> MatchRctIds(const ReferencePoint& previous, const std::vector<DiskForMatch>& disks) {
  if (previous.virtual_disk_ids.size() != previous.rct_ids.size()) {
    throw NativeError(codes::kInvalidArgument,
                      "reference point '" + previous.instance_id + "' lists " +
                          std::to_string(previous.virtual_disk_ids.size()) + " disk identifiers but " +
                          std::to_string(previous.rct_ids.size()) +
                          " RCT identifiers; Hyper-V keeps them pairwise, so it is damaged: resynchronise the VM");
  }
  const size_t n = previous.rct_ids.size();
  std::vector<RctMatch> out(disks.size());

  // Rule 1 candidates per disk, counted so that an ambiguous key never matches.
  std::vector<std::string> ref_keys(n), ref_guids(n);
  for (size_t i = 0; i < n; ++i) {
    ref_keys[i] = DeviceKey(previous.virtual_disk_ids[i]);
    ref_guids[i] = RctTrackingGuid(previous.rct_ids[i]);
  }
  std::vector<int> claimed(n, 0);
  std::vector<long> choice(disks.size(), -1);
  std::vector<std::string> rule(disks.size());
  for (size_t d = 0; d < disks.size(); ++d) {
    std::string key = DeviceKey(disks[d].instance_id);
    long hit = -1;
    int hits = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!key.empty() && ref_keys[i] == key) {
        hit = static_cast<long>(i);
        ++hits;
      }
    }
    if (hits == 1) {
      choice[d] = hit;
      rule[d] = "device-key";
      continue;
    }
    std::string guid = RctTrackingGuid(disks[d].current_rct_id);
    hits = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!guid.empty() && ref_guids[i] == guid) {
        hit = static_cast<long>(i);
        ++hits;
      }
    }
    if (hits == 1) {
      choice[d] = hit;
      rule[d] = "tracking-guid";
    } else {
      out[d] = {"", "none",
                disks[d].current_rct_id.empty() && hits == 0
                    ? "no identifier of the previous reference point names this disk's controller slot, and the disk's "
                      "own change-tracking id is unknown"
                    : "neither the controller slot nor the change-tracking log identifies exactly one entry of the "
                      "previous reference point"};
    }
  }
  for (size_t d = 0; d < disks.size(); ++d) {
    if (choice[d] >= 0) ++claimed[static_cast<size_t>(choice[d])];
  }
  for (size_t d = 0; d < disks.size(); ++d) {
    if (choice[d] < 0) continue;
    size_t i = static_cast<size_t>(choice[d]);
    if (claimed[i] > 1) {
      out[d] = {"", "none", "two disks of the checkpoint match the same entry of the previous reference point"};
    } else {
      out[d] = {previous.rct_ids[i], rule[d], ""};
    }
  }
  return out;
}

}  // namespace hvr::hyperv
