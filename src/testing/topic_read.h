// Reading a topic of the embedded log back in a test: every value, partition by partition, the
// way a consumer of the topic would see it.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace onceflow::testing {

// Every record value of `topic` in the data directory `data`, partition by partition, in offset
// order (a read-only open: safe beside a running writer). Fails the current test on an error.
std::vector<std::string> TopicValues(const std::string& data, const std::string& topic);

// "" if every value in `acked` occurs exactly once in `stored` and no value occurs twice, else
// the first problems found (at most 10 lines).
std::string CheckExactlyOnce(const std::vector<std::string>& stored,
                             const std::set<std::string>& acked);

}  // namespace onceflow::testing
