// The encoder's `downsamples` and the decoder's `upsamples`: one list mixing
// residual blocks, attention blocks and resampling layers, run in order, each
// with its own cache of the previous time chunk.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include "models/vae/attention_block.h"
#include "models/vae/resample.h"
#include "models/vae/residual_block.h"

namespace wan::vae {

// Per entry of a LayerStack; an entry uses the member of its own kind.
struct LayerCache {
  ResidualBlockCache residual;
  ResampleCache resample;
};

class LayerStack {
 public:
  // `list` is the registered ModuleList that gives the entries their checkpoint index.
  explicit LayerStack(torch::nn::ModuleList list) : list_(std::move(list)) {}

  void add(ResidualBlock block) { add_entry(Entry{block, nullptr, nullptr}, block.ptr()); }
  void add(AttentionBlock block) { add_entry(Entry{nullptr, block, nullptr}, block.ptr()); }
  void add(Resample layer) { add_entry(Entry{nullptr, nullptr, layer}, layer.ptr()); }

  std::vector<LayerCache> make_cache() const { return std::vector<LayerCache>(entries_.size()); }

  size_t size() const { return entries_.size(); }

  // The entries [begin, end) in order (all of them by default).
  at::Tensor forward(at::Tensor x, std::vector<LayerCache>& cache, size_t begin = 0, size_t end = SIZE_MAX) const {
    for (size_t i = begin; i < std::min(end, entries_.size()); ++i) {
      const Entry& e = entries_[i];
      if (e.residual)
        x = e.residual->forward(std::move(x), cache[i].residual);
      else if (e.attention)
        x = e.attention->forward(x);
      else
        x = e.resample->forward(x, cache[i].resample);
    }
    return x;
  }

  // Entry i's resampling layer (null for other kinds of entries).
  const Resample& resample(size_t i) const { return entries_.at(i).resample; }

  // Index of the first entry that resamples time (size() when none), and one
  // past the last (0 when none). Outside that span every entry is causal in
  // time frame by frame, so it may run on any split of a chunk into frames.
  size_t first_time_resampling() const {
    for (size_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].resample && entries_[i].resample->resamples_time()) return i;
    return entries_.size();
  }
  size_t end_of_time_resampling() const {
    for (size_t i = entries_.size(); i > 0; --i)
      if (entries_[i - 1].resample && entries_[i - 1].resample->resamples_time()) return i;
    return 0;
  }

 private:
  struct Entry {
    ResidualBlock residual;
    AttentionBlock attention;
    Resample resample;
  };
  void add_entry(Entry e, std::shared_ptr<torch::nn::Module> module) {
    list_->push_back(std::move(module));
    entries_.push_back(std::move(e));
  }

  torch::nn::ModuleList list_;
  std::vector<Entry> entries_;
};

}  // namespace wan::vae
