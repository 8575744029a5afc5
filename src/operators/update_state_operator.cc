// mapWithState.
#include "operators/update_state_operator.h"

#include <exception>
#include <unordered_map>

#include "operators/value_codec.h"
#include "util/coding.h"

namespace onceflow::operators {
namespace {

// State value: zigzag varint deadline (the timeout timer's time; INT64_MIN: none), then the
// state row (value_codec.h).
std::string EncodeState(int64_t deadline, const Row& state) {
  std::string out;
  coding::PutVarint64(&out, coding::ZigZag(deadline));
  EncodeRow(&out, state);
  return out;
}

Status DecodeState(std::string_view bytes, int64_t* deadline, Row* state) {
  uint64_t z = 0;
  const char* p = coding::DecodeVarint64(bytes.data(), bytes.data() + bytes.size(), &z);
  if (p == nullptr) return Status::Corruption("update_state: malformed state");
  *deadline = coding::UnZigZag(z);
  ONCEFLOW_ASSIGN_OR_RETURN(*state, DecodeRow(bytes.substr(static_cast<size_t>(p - bytes.data()))));
  return Status::Ok();
}

Result<Row> KeyRow(std::string_view key, const std::vector<std::string>& fields) {
  Row row;
  const char* p = key.data();
  const char* end = p + key.size();
  for (const std::string& f : fields) {
    Value v;
    if (!DecodeValue(&p, end, &v)) return Err(Status::Corruption("update_state: bad key"));
    row.Set(f, std::move(v));
  }
  return row;
}

}  // namespace

Result<std::string> UpdateStateOperator::KeyOf(const Row& row) const {
  auto key = EncodeKey(row, key_fields_);
  if (!key.has_value()) return Err(key.error().WithContext("update_state"));
  return key;
}

Status UpdateStateOperator::Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const {
  struct Group {
    const KeyedRow* first;
    std::vector<Row> values;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string_view, size_t> index;
  for (KeyedRow& r : rows) {
    auto [it, inserted] = index.emplace(r.key, groups.size());
    if (inserted) groups.push_back({&r, {}});
    groups[it->second].values.push_back(std::move(r.row.row));
  }
  // Calls the user function; an exception dead-letters the key's rows and leaves its state.
  auto call = [&](const std::string& key, std::optional<Row>& state, std::span<const Row> values,
                  const KeyedRow* origin) -> Result<bool> {
    ONCEFLOW_ASSIGN_OR_RETURN(Row key_row, KeyRow(key, key_fields_));
    std::vector<Row> out;
    std::string error;
    try {
      out = fn_(key_row, state, values, *ctx.batch);
    } catch (const std::exception& e) {
      error = std::string("update_state threw: ") + e.what();
    } catch (...) {
      error = "update_state threw a non-standard exception";
    }
    if (!error.empty()) {
      for (const Row& v : values) {
        ctx.dead_letters->push_back({origin ? origin->row.partition : PartitionId(-1),
                                     origin ? origin->row.offset : Offset(-1), v.ToJson(), error});
      }
      return false;
    }
    for (Row& r : out) ctx.out->push_back({std::move(r), PartitionId(-1), Offset(-1)});
    return true;
  };
  for (Group& g : groups) {
    const std::string& key = g.first->key;
    ONCEFLOW_ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(key));
    int64_t deadline = INT64_MIN;
    std::optional<Row> state;
    if (stored) {
      state.emplace();
      ONCEFLOW_RETURN_IF_ERROR(DecodeState(*stored, &deadline, &*state));
    }
    ONCEFLOW_ASSIGN_OR_RETURN(bool ok, call(key, state, g.values, g.first));
    if (!ok) continue;
    if (deadline != INT64_MIN) ctx.state->ClearTimer(deadline, key);
    if (!state) {
      if (stored) ctx.state->Remove(key);
      continue;
    }
    deadline = timeout_ ? ctx.batch->batch_time_ms + timeout_->count() : INT64_MIN;
    if (timeout_) ctx.state->SetTimer(deadline, key);
    ctx.state->Put(key, EncodeState(deadline, *state));
  }
  if (!timeout_) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(auto due, ctx.state->DueTimers(ctx.batch->batch_time_ms));
  for (const auto& [time, key] : due) {
    ONCEFLOW_ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(key));
    ctx.state->ClearTimer(time, key);
    if (!stored) continue;
    int64_t deadline = INT64_MIN;
    std::optional<Row> state(std::in_place);
    ONCEFLOW_RETURN_IF_ERROR(DecodeState(*stored, &deadline, &*state));
    ONCEFLOW_ASSIGN_OR_RETURN(bool ok, call(key, state, {}, nullptr));
    (void)ok;  // timing out: the state goes whatever the function did
    ctx.state->Remove(key);
  }
  return Status::Ok();
}

}  // namespace onceflow::operators
