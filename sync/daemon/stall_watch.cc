#include "sync/daemon/stall_watch.h"

#include <utility>

namespace georep::daemon {

using protocol::GfidToString;

WatchedSource::Scope::Scope(const WatchedSource* w, std::string what) : w_(w) {
  std::lock_guard<std::mutex> lock(w_->mu_);
  id_ = w_->next_id_++;
  w_->running_.emplace(id_, Call{std::move(what), Clock::now()});
}

WatchedSource::Scope::~Scope() {
  std::lock_guard<std::mutex> lock(w_->mu_);
  w_->running_.erase(id_);
}

std::optional<WatchedSource::Call> WatchedSource::Oldest() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.empty()) return std::nullopt;
  return running_.begin()->second;
}

// A file opened through a WatchedSource: its calls are tracked as well.
class WatchedFile : public SourceFile {
 public:
  WatchedFile(const WatchedSource* w, std::unique_ptr<SourceFile> inner, std::string gfid)
      : w_(w), inner_(std::move(inner)), gfid_(std::move(gfid)) {}
  Result<ObjectStat> Stat() override {
    WatchedSource::Scope t(w_, "stat " + gfid_);
    return inner_->Stat();
  }
  Result<std::optional<uint64_t>> SeekData(uint64_t offset) override {
    WatchedSource::Scope t(w_, "seek in " + gfid_);
    return inner_->SeekData(offset);
  }
  Result<uint64_t> SeekHole(uint64_t offset) override {
    WatchedSource::Scope t(w_, "seek in " + gfid_);
    return inner_->SeekHole(offset);
  }
  Status Read(uint64_t offset, uint64_t length, std::string* out) override {
    WatchedSource::Scope t(w_, "read " + gfid_ + " at " + std::to_string(offset));
    return inner_->Read(offset, length, out);
  }

 private:
  const WatchedSource* w_;
  std::unique_ptr<SourceFile> inner_;
  std::string gfid_;
};

Result<ObjectStat> WatchedSource::Stat(const protocol::Gfid& gfid) {
  Scope t(this, "stat " + GfidToString(gfid));
  return inner_->Stat(gfid);
}

Result<std::unique_ptr<SourceFile>> WatchedSource::Open(const protocol::Gfid& gfid) {
  std::string id = GfidToString(gfid);
  Result<std::unique_ptr<SourceFile>> f = [&] {
    Scope t(this, "open " + id);
    return inner_->Open(gfid);
  }();
  if (!f.ok()) return f.status();
  return std::unique_ptr<SourceFile>(std::make_unique<WatchedFile>(this, std::move(f).value(), std::move(id)));
}

Result<std::optional<std::string>> WatchedSource::GetXattr(const protocol::Gfid& gfid, const std::string& name) {
  Scope t(this, "getxattr " + GfidToString(gfid));
  return inner_->GetXattr(gfid, name);
}

Result<std::vector<std::string>> WatchedSource::ListXattrs(const protocol::Gfid& gfid) {
  Scope t(this, "listxattr " + GfidToString(gfid));
  return inner_->ListXattrs(gfid);
}

Result<std::string> WatchedSource::ReadLink(const protocol::Gfid& gfid) {
  Scope t(this, "readlink " + GfidToString(gfid));
  return inner_->ReadLink(gfid);
}

Result<protocol::Gfid> WatchedSource::LookupName(const protocol::Gfid& parent, const std::string& name) {
  Scope t(this, "lookup " + GfidToString(parent) + "/" + protocol::PrintableName(name));
  return inner_->LookupName(parent, name);
}

Result<std::unordered_map<std::string, protocol::Gfid>> WatchedSource::ListNames(const protocol::Gfid& dir) {
  Scope t(this, "list " + GfidToString(dir));
  return inner_->ListNames(dir);
}

}  // namespace georep::daemon
