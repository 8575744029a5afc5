// Row operators.
#include "engine/stages.h"

#include <exception>

#include "util/check.h"

namespace onceflow::engine {

Status ApplyStages(std::span<const internal::Stage> stages, Row row,
                   const std::function<void(Row&&)>& emit) {
  using Kind = internal::Stage::Kind;
  for (size_t i = 0; i < stages.size(); ++i) {
    const internal::Stage& s = stages[i];
    try {
      switch (s.kind) {
        case Kind::kTransform: {
          bool keep = true;
          ONCEFLOW_RETURN_IF_ERROR(s.transform->Apply(&row, &keep));
          if (!keep) return Status::Ok();
          break;
        }
        case Kind::kMap: row = s.map(std::move(row)); break;
        case Kind::kFilter:
          if (!s.filter(row)) return Status::Ok();
          break;
        case Kind::kFlatMap: {
          std::vector<Row> out = s.flat_map(std::move(row));
          for (Row& r : out)
            ONCEFLOW_RETURN_IF_ERROR(ApplyStages(stages.subspan(i + 1), std::move(r), emit));
          return Status::Ok();
        }
        case Kind::kBatch:
          // Batch functions run on whole batches (batch_stages.cc), which hands this function
          // only the row operators between them: skipping one here would drop a user's step.
          ONCEFLOW_CHECK(false) << "batch stage " << i + 1 << " reached the row operators";
          break;
      }
    } catch (const std::exception& e) {
      return Status::InvalidArgument("operator " + std::to_string(i + 1) + " threw: " + e.what());
    } catch (...) {
      return Status::InvalidArgument("operator " + std::to_string(i + 1) +
                                     " threw a non-standard exception");
    }
  }
  emit(std::move(row));
  return Status::Ok();
}

}  // namespace onceflow::engine
