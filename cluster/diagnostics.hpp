// One configuration error, printed as "<file>:<line>:<col>: <key path>: <message>".
#pragma once

#include <string>
#include <vector>

#include "cluster/config.hpp"

namespace drover::cluster {

struct Diagnostic {
  std::string file;  // as given by the operator
  Pos pos;           // line 0: the error has no position (a missing file)
  std::string path;  // "nodes[3].mac"; empty for whole-document errors
  std::string message;

  // "cluster.yaml:12:5: nodes[3].mac: \"52:54:00:zz:00:01\" is not a MAC address"
  std::string str() const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace drover::cluster
