#include "pipeline/names.h"

#include "models/common/error.h"

namespace wan {

const char* solver_name(Solver solver) {
  switch (solver) {
    case Solver::UniPC: return "unipc";
    case Solver::DPMpp: return "dpm++";
    case Solver::Euler: return "euler";
    case Solver::Distill: return "distill";
    case Solver::Renoise: return "renoise";
  }
  return "?";
}

Solver parse_solver(const std::string& name) {
  for (Solver s : {Solver::UniPC, Solver::DPMpp, Solver::Euler, Solver::Distill, Solver::Renoise})
    if (name == solver_name(s)) return s;
  throw Error("unknown solver '" + name + "' (expected unipc, dpm++, euler, distill or renoise)");
}

const char* task_name(Task task) {
  switch (task) {
    case Task::TextToVideo: return "t2v";
    case Task::ImageToVideo: return "i2v";
    case Task::FirstLastFrameToVideo: return "flf2v";
  }
  return "?";
}

const char* memory_mode_name(MemoryMode mode) {
  switch (mode) {
    case MemoryMode::Resident: return "resident";
    case MemoryMode::Sequential: return "sequential";
    case MemoryMode::TextEncoderCpu: return "text-encoder-cpu";
    case MemoryMode::BlockSwap: return "block-swap";
  }
  return "?";
}

MemoryMode parse_memory_mode(const std::string& name) {
  for (MemoryMode m : {MemoryMode::Resident, MemoryMode::Sequential, MemoryMode::TextEncoderCpu, MemoryMode::BlockSwap})
    if (name == memory_mode_name(m)) return m;
  throw Error("unknown memory mode '" + name + "' (expected resident, sequential, text-encoder-cpu or block-swap)");
}

}  // namespace wan
