// Ulysses sequence parallelism on the CPU: the token / head layouts round-trip, the
// in-process communicator delivers each tensor to the right rank, and attention split
// over 1, 2, 4 or 5 ranks (one thread each) equals attention on the whole sequence,
// also where tokens or heads had to be padded.
#include <cmath>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "models/dit/attention.h"
#include "models/dit/in_process_communicator.h"
#include "models/dit/sequence_parallel_attention.h"
#include "models/dit/sequence_parallel_layout.h"
#include "tests/unit/check.h"

using namespace wan::dit;

namespace {

// Runs body(rank communicator) on one thread per rank; rethrows the first failure.
void run_ranks(InProcessCommunicatorGroup& group, const std::function<void(Communicator&)>& body) {
  std::vector<std::exception_ptr> errors(group.world_size());
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < group.world_size(); ++r)
    threads.emplace_back([&, r] {
      try {
        body(group.rank(r));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

double relative_l2(const at::Tensor& got, const at::Tensor& want) {
  return (got - want).norm().item<double>() / want.norm().item<double>();
}

void layouts_round_trip() {
  const at::Tensor x = at::randn({2, 12, 6, 3});
  EXPECT_MSG(at::equal(gather_sequence(split_sequence(x, 4)), x), "token slices join back to the sequence");
  EXPECT_MSG(at::equal(merge_heads_from_ranks(split_heads_for_ranks(x, 3)), x), "head groups join back");
  const std::vector<at::Tensor> slices = split_sequence(x, 4);
  EXPECT_MSG(slices.size() == 4 && slices[1].size(1) == 3 && at::equal(slices[1], x.slice(1, 3, 6)),
             "rank 1 holds the second contiguous token slice");
  const std::vector<at::Tensor> groups = split_heads_for_ranks(x, 3);
  EXPECT_MSG(groups.size() == 3 && at::equal(groups[2], x.slice(2, 4, 6)), "rank 2 gets the last two heads");

  const at::Tensor short_x = x.slice(1, 0, 10);
  const at::Tensor tokens = pad_tokens_to_multiple(short_x, 4);
  EXPECT_MSG(tokens.size(1) == 12 && at::equal(tokens.slice(1, 0, 10), short_x) &&
                 tokens.slice(1, 10).abs().sum().item<double>() == 0.0,
             "tokens padded with zeros to a multiple of the world");
  const at::Tensor heads = pad_heads_to_multiple(x, 4);
  EXPECT_MSG(
      heads.size(2) == 8 && at::equal(heads.slice(2, 0, 6), x) && heads.slice(2, 6).abs().sum().item<double>() == 0.0,
      "heads padded with zeros to a multiple of the world");
  EXPECT_MSG(pad_tokens_to_multiple(x, 4).data_ptr() == x.data_ptr(), "a dividing length is left as it is");

  EXPECT_ERROR(split_sequence(short_x, 4), "10 tokens do not divide over 4 ranks");
  EXPECT_ERROR(split_heads_for_ranks(x, 4), "6 heads do not divide over 4 ranks");
  EXPECT_ERROR(split_sequence(x.flatten(2), 2), "expected a tensor [B, L, heads, head_dim]");
  EXPECT_ERROR(pad_tokens_to_multiple(x, 0), "at least 1");
}

void communicator_delivers_to_each_rank(int64_t world) {
  constexpr int64_t rounds = 3;
  // sent / received[rank][round][peer]; the checks run on the main thread afterwards.
  using PerRank = std::vector<std::vector<std::vector<at::Tensor>>>;
  PerRank sent(world, std::vector<std::vector<at::Tensor>>(rounds));
  PerRank received = sent;
  std::vector<at::Tensor> gathered(world);
  InProcessCommunicatorGroup group(world);
  // Several rounds: the slots and the barrier are reused between collectives.
  run_ranks(group, [&](Communicator& comm) {
    const int64_t me = comm.rank();
    for (int64_t round = 0; round < rounds; ++round) {
      for (int64_t dst = 0; dst < world; ++dst)
        sent[me][round].push_back(at::full({2, dst + 1}, double(1000 * round + 100 * me + dst), at::kFloat));
      received[me][round] = comm.all_to_all(sent[me][round]);
      // The receiver owns a copy: changing it must not reach the sender.
      for (at::Tensor& t : received[me][round]) t.add_(0.5);
    }
    gathered[me] = comm.all_gather_cat(at::full({1, 2}, double(me), at::kFloat), 0);
  });

  for (int64_t me = 0; me < world; ++me) {
    for (int64_t round = 0; round < rounds; ++round) {
      EXPECT(static_cast<int64_t>(received[me][round].size()) == world);
      for (int64_t peer = 0; peer < world && peer < static_cast<int64_t>(received[me][round].size()); ++peer) {
        const at::Tensor& got = received[me][round][peer];
        EXPECT_MSG(got.size(1) == me + 1 && (got == 1000 * round + 100 * peer + me + 0.5).all().item<bool>(),
                   "rank " + std::to_string(me) + " got what rank " + std::to_string(peer) + " sent it");
        EXPECT_MSG((sent[me][round][peer] == 1000 * round + 100 * me + peer).all().item<bool>(),
                   "the sender's tensor is untouched by the receiver");
      }
    }
    EXPECT_MSG(at::equal(gathered[me], at::arange(world, at::kFloat).unsqueeze(1).expand({world, 2})),
               "all_gather_cat joins the ranks' tensors in rank order");
  }
}

void communicator_rejects_bad_input() {
  InProcessCommunicatorGroup group(1);
  EXPECT_ERROR(group.rank(0).all_to_all({at::zeros({1}), at::zeros({1})}), "expected one per rank (1)");
  EXPECT_ERROR(group.rank(1), "rank 1 outside [0, 1)");
  EXPECT_ERROR(InProcessCommunicatorGroup(0), "at least 1");
}

// Attention over `world` ranks equals attention on the whole sequence.
void matches_single_rank_attention(int64_t world, int64_t heads) {
  const int64_t batch = 2, tokens = 37, head_dim = 8;
  const at::Tensor q = at::randn({batch, tokens, heads, head_dim});
  const at::Tensor k = at::randn({batch, tokens, heads, head_dim});
  const at::Tensor v = at::randn({batch, tokens, heads, head_dim});
  // The second sample has fewer valid tokens than the sequence.
  const at::Tensor k_lens = at::tensor(std::vector<int64_t>{tokens, 23}, at::kLong);
  const at::Tensor want = attention(q, k, v, k_lens);

  const std::vector<at::Tensor> q_slices = split_sequence(pad_tokens_to_multiple(q, world), world);
  const std::vector<at::Tensor> k_slices = split_sequence(pad_tokens_to_multiple(k, world), world);
  const std::vector<at::Tensor> v_slices = split_sequence(pad_tokens_to_multiple(v, world), world);
  std::vector<at::Tensor> outputs(world);
  InProcessCommunicatorGroup group(world);
  run_ranks(group, [&](Communicator& comm) {
    const int64_t r = comm.rank();
    outputs[r] = sequence_parallel_attention(comm, q_slices[r], k_slices[r], v_slices[r], k_lens);
  });

  const at::Tensor got = gather_sequence(outputs).slice(1, 0, tokens);
  const std::string label = std::to_string(heads) + " heads over " + std::to_string(world) + " ranks";
  EXPECT_MSG(got.sizes() == want.sizes(), label + ": output shape");
  if (got.sizes() != want.sizes()) return;
  const double err = relative_l2(got, want);
  std::printf("%s: rel. L2 %.3g\n", label.c_str(), err);
  EXPECT_MSG(err < 1e-5, label + ": rel. L2 " + std::to_string(err));
}

}  // namespace

int main() {
  at::manual_seed(0);
  layouts_round_trip();
  for (int64_t world : {1, 3, 4}) communicator_delivers_to_each_rank(world);
  communicator_rejects_bad_input();
  for (int64_t world : {1, 2, 4, 5}) matches_single_rank_attention(world, 40);
  matches_single_rank_attention(4, 6);  // 6 heads padded to 8
  return wan::test::check_exit("sequence-parallel");
}
