// The central directory of a zip archive (torch.save's container), read and
// checked before libtorch's reader opens any record: libtorch 1.13 allocates
// and inflates a record at whatever size its entry declares, so a small file
// can expand into gigabytes before any size is compared. This reader inflates
// nothing; it refuses directories that are inconsistent with the file and
// records that could expand far beyond it, and tells each record's declared
// size so callers can compare it with what they expect first.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace wan {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class ZipDirectory {
 public:
  // Reads the end-of-central-directory record (zip64's when present) and the
  // central directory of `path`. Throws wan::Error naming the file for offsets
  // or sizes past the end of the file, counts the directory cannot hold,
  // overlapping or duplicate records, methods other than stored and deflate,
  // and deflated records that would expand more than deflate can or much more
  // than the whole file holds.
  explicit ZipDirectory(const std::string& path);

  // Entries in directory order.
  const std::vector<ZipEntry>& entries() const { return entries_; }

  // The entry named `name`, compared ignoring ASCII case as libtorch's zip
  // reader (miniz) looks names up; nullptr when there is none.
  const ZipEntry* find(const std::string& name) const;

  uint64_t file_size() const { return file_size_; }

 private:
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;  // lower-cased name -> entry
  uint64_t file_size_ = 0;
};

}  // namespace wan
