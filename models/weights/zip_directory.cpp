#include "models/weights/zip_directory.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "models/common/error.h"

namespace wan {

namespace {

// Record signatures and fixed sizes (PKWARE APPNOTE 4.3).
constexpr uint32_t kEndOfDirectorySig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EndOfDirectorySig = 0x06064b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint64_t kEndOfDirectorySize = 22;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kZip64EndOfDirectorySize = 56;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kMaxCommentSize = 0xffff;
constexpr uint32_t kZip64Marker = 0xffffffff;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflated = 8;

// Deflate codes at best a 258-byte match in 2 bits: no stream expands more.
constexpr uint64_t kMaxDeflateRatio = 1032;
// torch.save stores records uncompressed; an archive recompressed by another tool
// shrinks float weights little. Deflated records expanding past this many times the
// file (or past the floor, for small files) are a zip bomb, not weights.
constexpr uint64_t kMaxDeflatedPerFileByte = 16;
constexpr uint64_t kMinDeflatedBudget = 64ull << 20;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | static_cast<uint32_t>(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

std::string lowercase_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Positioned reads of the file, every short read an error naming it.
class FileBytes {
 public:
  explicit FileBytes(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw Error("cannot open checkpoint '" + path + "'");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const { return size_; }

  std::vector<uint8_t> read(uint64_t offset, uint64_t n) {
    std::vector<uint8_t> bytes(n);
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n));
    if (!in_ || static_cast<uint64_t>(in_.gcount()) != n)
      throw Error(path_ + ": cannot read " + std::to_string(n) + " bytes at offset " + std::to_string(offset));
    return bytes;
  }

 private:
  std::string path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

// Where the central directory lies and how many entries it declares.
struct DirectoryLocation {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
  uint64_t end = 0;  // where the records after it begin: the end records may not overlap it
};

class DirectoryReader {
 public:
  DirectoryReader(const std::string& path, FileBytes& file) : path_(path), file_(file) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": not a readable zip archive (" + what + ")");
  }

  // The last end-of-central-directory signature with a whole record after it, searched
  // within the longest comment from the end, as libtorch's zip reader searches.
  uint64_t find_end_record() {
    if (file_.size() < kEndOfDirectorySize) fail("shorter than an end-of-central-directory record");
    const uint64_t window = std::min(file_.size(), kMaxCommentSize + kEndOfDirectorySize);
    const uint64_t start = file_.size() - window;
    const std::vector<uint8_t> tail = file_.read(start, window);
    for (uint64_t i = window - kEndOfDirectorySize + 1; i-- > 0;)
      if (le32(tail.data() + i) == kEndOfDirectorySig) return start + i;
    fail("no end-of-central-directory record");
  }

  DirectoryLocation locate() {
    const uint64_t end_offset = find_end_record();
    const std::vector<uint8_t> end = file_.read(end_offset, kEndOfDirectorySize);
    DirectoryLocation where;
    uint64_t disk = le16(end.data() + 4), directory_disk = le16(end.data() + 6);
    uint64_t entries_here = le16(end.data() + 8);
    where.entries = le16(end.data() + 10);
    where.size = le32(end.data() + 12);
    where.offset = le32(end.data() + 16);
    where.end = end_offset;

    // torch.save always writes the zip64 records (the locator just before the end record).
    if (end_offset >= kZip64LocatorSize + kZip64EndOfDirectorySize) {
      const std::vector<uint8_t> locator = file_.read(end_offset - kZip64LocatorSize, kZip64LocatorSize);
      if (le32(locator.data()) == kZip64LocatorSig) {
        const uint64_t record_offset = le64(locator.data() + 8);
        if (record_offset > end_offset - kZip64LocatorSize - kZip64EndOfDirectorySize)
          fail("zip64 end-of-central-directory offset " + std::to_string(record_offset) + " lies past its locator");
        if (le32(locator.data() + 16) != 1) fail("multi-disk archive");
        const std::vector<uint8_t> record = file_.read(record_offset, kZip64EndOfDirectorySize);
        if (le32(record.data()) != kZip64EndOfDirectorySig)
          fail("zip64 locator points at offset " + std::to_string(record_offset) +
               ", where there is no zip64 end-of-central-directory record");
        if (le64(record.data() + 4) < kZip64EndOfDirectorySize - 12)
          fail("zip64 end-of-central-directory record too short");
        disk = le32(record.data() + 16);
        directory_disk = le32(record.data() + 20);
        entries_here = le64(record.data() + 24);
        where.entries = le64(record.data() + 32);
        where.size = le64(record.data() + 40);
        where.offset = le64(record.data() + 48);
        where.end = record_offset;
      }
    }
    if (disk != 0 || directory_disk != 0 || entries_here != where.entries) fail("multi-disk archive");
    if (where.offset > where.end || where.size > where.end - where.offset)
      fail("central directory of " + std::to_string(where.size) + " bytes at offset " + std::to_string(where.offset) +
           " runs past its end record at " + std::to_string(where.end) + " (file of " + std::to_string(file_.size()) +
           " bytes)");
    if (where.entries > where.size / kCentralHeaderSize)
      fail("central directory declares " + std::to_string(where.entries) + " entries, more than its " +
           std::to_string(where.size) + " bytes can hold");
    return where;
  }

  std::vector<ZipEntry> read_entries(const DirectoryLocation& where) {
    const std::vector<uint8_t> directory = file_.read(where.offset, where.size);
    std::vector<ZipEntry> entries;
    entries.reserve(where.entries);
    uint64_t pos = 0;
    for (uint64_t i = 0; i < where.entries; ++i) {
      const uint64_t left = where.size - pos;
      const uint8_t* p = directory.data() + pos;
      if (left < kCentralHeaderSize || le32(p) != kCentralHeaderSig)
        fail("central directory entry " + std::to_string(i) + " is not a central directory header");
      const uint64_t name_size = le16(p + 28), extra_size = le16(p + 30), comment_size = le16(p + 32);
      const uint64_t header_size = kCentralHeaderSize + name_size + extra_size + comment_size;
      if (header_size > left)
        fail("central directory entry " + std::to_string(i) + " runs past the end of the directory");
      ZipEntry e;
      e.name.assign(reinterpret_cast<const char*>(p + kCentralHeaderSize), name_size);
      e.method = le16(p + 10);
      e.compressed_size = le32(p + 20);
      e.uncompressed_size = le32(p + 24);
      e.local_header_offset = le32(p + 42);
      read_zip64_fields(e, p + kCentralHeaderSize + name_size, extra_size);
      check_entry(e, le16(p + 8), le16(p + 34), where);
      entries.push_back(std::move(e));
      pos += header_size;
    }
    return entries;
  }

  // Sizes and offsets too large for 32 bits are 0xffffffff in the header and follow,
  // in this order, in the entry's zip64 extra field (libtorch's reader takes the first).
  void read_zip64_fields(ZipEntry& e, const uint8_t* extra, uint64_t extra_size) {
    uint64_t* fields[] = {&e.uncompressed_size, &e.compressed_size, &e.local_header_offset};
    if (std::none_of(std::begin(fields), std::end(fields), [](const uint64_t* f) { return *f == kZip64Marker; }))
      return;
    while (extra_size >= 4) {
      const uint16_t id = le16(extra);
      const uint64_t size = le16(extra + 2);
      if (size > extra_size - 4) break;
      if (id == kZip64ExtraId) {
        const uint8_t* field = extra + 4;
        uint64_t left = size;
        for (uint64_t* f : fields) {
          if (*f != kZip64Marker) continue;
          if (left < 8) fail("zip64 extra field of '" + e.name + "' is too short");
          *f = le64(field);
          field += 8;
          left -= 8;
        }
        return;
      }
      extra += 4 + size;
      extra_size -= 4 + size;
    }
    fail("entry '" + e.name + "' marks a size or offset as zip64 but has no zip64 extra field");
  }

  void check_entry(const ZipEntry& e, uint16_t flags, uint16_t disk, const DirectoryLocation& where) {
    const std::string name = "entry '" + e.name + "'";
    if (flags & 1) fail(name + " is encrypted");
    if (disk != 0) fail("multi-disk archive");
    if (e.method != kStored && e.method != kDeflated)
      fail(name + " uses compression method " + std::to_string(e.method) + " (only stored and deflate are read)");
    if (e.method == kStored && e.compressed_size != e.uncompressed_size)
      fail(name + " is stored uncompressed, yet declares " + std::to_string(e.compressed_size) +
           " bytes in the file and " + std::to_string(e.uncompressed_size) + " unpacked");
    if (e.local_header_offset > where.offset || kLocalHeaderSize > where.offset - e.local_header_offset ||
        e.compressed_size > where.offset - e.local_header_offset - kLocalHeaderSize)
      fail(name + " of " + std::to_string(e.compressed_size) + " bytes at offset " +
           std::to_string(e.local_header_offset) + " runs past the records' end at offset " +
           std::to_string(where.offset));
    if (e.method == kDeflated && e.uncompressed_size / kMaxDeflateRatio > e.compressed_size)
      fail(name + " declares " + std::to_string(e.uncompressed_size) + " bytes inflated from " +
           std::to_string(e.compressed_size) + ", more than deflate can expand");
  }

  // Every record's header and data within the file once: records that overlap would let
  // one stretch of the file be unpacked again and again.
  void check_layout(const std::vector<ZipEntry>& entries) {
    std::vector<const ZipEntry*> by_offset;
    by_offset.reserve(entries.size());
    for (const ZipEntry& e : entries) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const ZipEntry* a, const ZipEntry* b) { return a->local_header_offset < b->local_header_offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const ZipEntry& a = *by_offset[i - 1];
      const ZipEntry& b = *by_offset[i];
      if (b.local_header_offset - a.local_header_offset < kLocalHeaderSize + a.compressed_size)
        fail("entries '" + a.name + "' and '" + b.name + "' overlap");
    }

    uint64_t deflated = 0;
    const ZipEntry* largest = nullptr;
    for (const ZipEntry& e : entries) {
      if (e.method != kDeflated) continue;
      deflated += e.uncompressed_size;  // each < 1032 x its own part of the file: no overflow
      if (!largest || e.uncompressed_size > largest->uncompressed_size) largest = &e;
    }
    const uint64_t budget = std::max(kMinDeflatedBudget, kMaxDeflatedPerFileByte * file_.size());
    if (deflated > budget)
      throw Error(path_ + ": its deflated records (the largest '" + largest->name + "', " +
                  std::to_string(largest->compressed_size) + " bytes inflating to " +
                  std::to_string(largest->uncompressed_size) + ") would unpack to " + std::to_string(deflated) +
                  " bytes from a file of " + std::to_string(file_.size()) + ", more than " +
                  std::to_string(kMaxDeflatedPerFileByte) +
                  " times its size; refusing to inflate them (a corrupt or hostile file: torch.save stores records "
                  "uncompressed)");
  }

 private:
  std::string path_;
  FileBytes& file_;
};

}  // namespace

ZipDirectory::ZipDirectory(const std::string& path) {
  FileBytes file(path);
  file_size_ = file.size();
  DirectoryReader reader(path, file);
  entries_ = reader.read_entries(reader.locate());
  reader.check_layout(entries_);
  // Names are looked up ignoring case: two that differ only in case would make the
  // record read depend on the lookup.
  for (size_t i = 0; i < entries_.size(); ++i)
    if (!index_.emplace(lowercase_ascii(entries_[i].name), i).second)
      reader.fail("two entries named '" + entries_[i].name + "'");
}

const ZipEntry* ZipDirectory::find(const std::string& name) const {
  const auto found = index_.find(lowercase_ascii(name));
  return found == index_.end() ? nullptr : &entries_[found->second];
}

}  // namespace wan
