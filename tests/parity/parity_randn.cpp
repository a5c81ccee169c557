// kind "randn": the seeded CPU normal generator the pipelines draw noise with.

#include "pipeline/seeded_noise.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {
namespace {

void run(const ParityCase& c, ParityReport& report) {
  const auto seeds = c.args().at("seeds").get<std::vector<uint64_t>>();
  const auto shape = c.args().at("shape").get<std::vector<int64_t>>();
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::string name = "out.noise." + std::to_string(i);
    const at::Tensor got = seeded_randn(shape, seeds[i], at::kCPU);
    const at::Tensor expected = c.tensor(name).cpu();  // a CPU generator, whatever --device says
    report.compare(name, got, expected);
    const double max_abs = (got - expected).abs().max().item<double>();
    report.check(name + " max |diff|", max_abs <= 1e-6, std::to_string(max_abs));
  }
}

ParityKind reg("randn", run);

}  // namespace
}  // namespace wan::parity
