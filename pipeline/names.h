// The user-facing names of tasks and solvers (the official CLI's spellings) and of memory
// modes (the element's nicks), shared by the command-line tool, the element and the
// reference cases.
#pragma once
#include <string>

#include "pipeline/pipeline.h"
#include "pipeline/request.h"

namespace wan {

const char* solver_name(Solver solver);  // "unipc", "dpm++", "euler"
// Throws wan::Error listing the accepted names.
Solver parse_solver(const std::string& name);

const char* task_name(Task task);  // "t2v", "i2v", "flf2v"

// "resident", "sequential", "text-encoder-cpu", "block-swap" (the element's nicks).
const char* memory_mode_name(MemoryMode mode);
// Throws wan::Error listing the accepted names.
MemoryMode parse_memory_mode(const std::string& name);

}  // namespace wan
