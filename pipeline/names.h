// The user-facing names of tasks and solvers (the official CLI's spellings),
// shared by the command-line tool, the element and the reference cases.
#pragma once
#include <string>

#include "pipeline/request.h"

namespace wan {

const char* solver_name(Solver solver);  // "unipc", "dpm++", "euler"
// Throws wan::Error listing the accepted names.
Solver parse_solver(const std::string& name);

const char* task_name(Task task);  // "t2v", "i2v", "flf2v"

}  // namespace wan
