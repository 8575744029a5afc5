// mapWithState.
#include "operators/update_state_operator.h"

#include <exception>
#include <unordered_map>
#include <unordered_set>

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

UpdateStateOperator::BatchFn UpdateStateOperator::PerKey(Fn fn) {
  return [fn = std::move(fn)](std::span<KeyedStateUpdate> keys, const BatchContext& ctx) {
    for (KeyedStateUpdate& k : keys) {
      try {
        k.out = fn(k.key, k.state, k.values, ctx);
      } catch (const std::exception& e) {
        k.error = std::string("update_state threw: ") + e.what();
      } catch (...) {
        k.error = "update_state threw a non-standard exception";
      }
    }
    return Status::Ok();
  };
}

Status UpdateStateOperator::Call(std::span<KeyedStateUpdate> keys, const BatchContext& ctx) const {
  try {
    return fn_(keys, ctx);
  } catch (const std::exception& e) {
    return Status::Aborted(std::string("update_state threw: ") + e.what());
  } catch (...) {
    return Status::Aborted("update_state threw a non-standard exception");
  }
}

Status UpdateStateOperator::Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const {
  struct Group {
    const KeyedRow* first;
    std::vector<Row> values;
    std::optional<std::string> stored;  // the committed state value as read
    int64_t deadline = INT64_MIN;       // its timer (INT64_MIN: none)
  };
  std::vector<Group> groups;
  std::unordered_map<std::string_view, size_t> index;
  for (KeyedRow& r : rows) {
    auto [it, inserted] = index.emplace(r.key, groups.size());
    if (inserted) groups.push_back({&r, {}, std::nullopt, INT64_MIN});
    groups[it->second].values.push_back(std::move(r.row.row));
  }
  // Every key of the task's share of the batch in one call, in order of first appearance.
  std::vector<KeyedStateUpdate> updates(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    Group& g = groups[i];
    KeyedStateUpdate& u = updates[i];
    ONCEFLOW_ASSIGN_OR_RETURN(u.key, KeyRow(g.first->key, key_fields_));
    ONCEFLOW_ASSIGN_OR_RETURN(g.stored, ctx.state->Get(g.first->key));
    if (g.stored) {
      u.state.emplace();
      ONCEFLOW_RETURN_IF_ERROR(DecodeState(*g.stored, &g.deadline, &*u.state));
    }
    u.values = g.values;
  }
  if (!updates.empty()) ONCEFLOW_RETURN_IF_ERROR(Call(updates, *ctx.batch));
  for (size_t i = 0; i < groups.size(); ++i) {
    const Group& g = groups[i];
    KeyedStateUpdate& u = updates[i];
    const std::string& key = g.first->key;
    if (!u.error.empty()) {
      // Refused: the key's rows go to the dead letters and its state stays.
      for (const Row& v : g.values) {
        ctx.dead_letters->push_back(
            {g.first->row.partition, g.first->row.offset, v.ToJson(), u.error});
      }
      continue;
    }
    for (Row& r : u.out) ctx.out->push_back({std::move(r), PartitionId(-1), Offset(-1)});
    if (g.deadline != INT64_MIN) ctx.state->ClearTimer(g.deadline, key);
    if (!u.state) {
      if (g.stored) ctx.state->Remove(key);
      continue;
    }
    const int64_t deadline = timeout_ ? ctx.batch->batch_time_ms + timeout_->count() : INT64_MIN;
    if (timeout_) ctx.state->SetTimer(deadline, key);
    ctx.state->Put(key, EncodeState(deadline, *u.state));
  }
  if (!timeout_) return Status::Ok();
  // The keys timing out: one more call, with no rows; their state goes whatever it does.
  ONCEFLOW_ASSIGN_OR_RETURN(auto due, ctx.state->DueTimers(ctx.batch->batch_time_ms));
  std::vector<KeyedStateUpdate> expiring;
  std::vector<std::string> expiring_keys;
  std::unordered_set<std::string> seen;
  for (const auto& [time, key] : due) {
    ONCEFLOW_ASSIGN_OR_RETURN(std::optional<std::string> stored, ctx.state->Get(key));
    ctx.state->ClearTimer(time, key);
    if (!stored) continue;
    if (!seen.insert(key).second) continue;  // one last call per key
    KeyedStateUpdate& u = expiring.emplace_back();
    int64_t deadline = INT64_MIN;
    u.state.emplace();
    ONCEFLOW_RETURN_IF_ERROR(DecodeState(*stored, &deadline, &*u.state));
    ONCEFLOW_ASSIGN_OR_RETURN(u.key, KeyRow(key, key_fields_));
    expiring_keys.push_back(key);
  }
  if (expiring.empty()) return Status::Ok();
  ONCEFLOW_RETURN_IF_ERROR(Call(expiring, *ctx.batch));
  for (size_t i = 0; i < expiring.size(); ++i) {
    if (expiring[i].error.empty()) {
      for (Row& r : expiring[i].out) {
        ctx.out->push_back({std::move(r), PartitionId(-1), Offset(-1)});
      }
    }
    ctx.state->Remove(expiring_keys[i]);
  }
  return Status::Ok();
}

}  // namespace onceflow::operators
