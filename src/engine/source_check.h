// The checks that a pipeline's source is still the one its checkpoint committed from
// (docs/protocol.md guarantee 6): the same source (identity), still holding every record the
// pipeline committed (no truncation), and the same records (no rewrite). Run by the driver at
// start, and by status and verify, so that none of them goes on as if nothing happened.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "source/source.h"

namespace onceflow::engine {

// The source.meta record of `identity`, with no start known yet.
checkpoint::SourceRecord SourceRecordOf(const source::SourceIdentity& identity);
source::SourceIdentity IdentityOf(const checkpoint::SourceRecord& record);

// invalid_argument when the checkpoint of `pipeline` recorded another source than `now`: one
// line naming both and `way_out` (the command that starts the pipeline afresh). OK when nothing
// is recorded (a new pipeline, or a checkpoint written before identities were recorded).
Status CheckSourceIdentity(const std::string& pipeline,
                           const std::optional<checkpoint::SourceRecord>& recorded,
                           const source::SourceIdentity& now, const std::string& way_out);

// Checks that the source, as `bounds` shows it, still holds what the pipeline has read:
// `read_up_to[p]` (-1: nothing) is the offset up to which partition p was read by the
// checkpoint's batches; a source that ends before it lost records the pipeline had (corruption,
// naming the partition, both offsets and the count). Then, for each of `marks` whose record the
// source still holds (retention may have deleted it), reads that one record and compares its
// fingerprint: another record there, or none (Kafka: a marker or an aborted record now sits at
// that offset), means the source was rewritten (corruption naming the partition and offset). One
// record read per partition: cheap enough for every start.
Status CheckSourceHoldsCommitted(source::Source* source, const source::Source::Bounds& bounds,
                                 const std::vector<Offset>& read_up_to,
                                 const std::vector<checkpoint::PartitionMark>& marks,
                                 const std::string& way_out);

// The offsets up to which the checkpoint's last intent read each partition (its `until`,
// finished or not; -1 for partitions it does not name).
std::vector<Offset> ReadUpTo(const std::optional<checkpoint::BatchIntent>& last_intent);

// The marks of the records just before `positions` (position - 1, for partitions past their
// earliest offset), read from `source`: a baseline for partitions that have none (a checkpoint
// written before marks, or positions recovered from the sink). Partitions without a readable
// record there are left out.
Result<std::vector<checkpoint::PartitionMark>> MarksAt(source::Source* source,
                                                       const source::Source::Bounds& bounds,
                                                       const std::vector<Offset>& positions);

// The way out of a refusal of lost or rewritten records, naming both commands: the one that
// accepts the loss and continues (`accept_command`), and the one that starts afresh.
std::string LossWayOut(const std::string& accept_command, const std::string& reset_command);

// The sentence of refusals that need pipeline `pipeline` started afresh: run `reset_command`
// (RunOptions::reset_command), or, when it is empty, delete its checkpoint directory under
// `data_dir` and the sink's progress rows.
std::string ResetWayOut(const std::string& reset_command, const std::string& data_dir,
                        const std::string& pipeline);
// The sentence of a refusal of lost or rewritten records: LossWayOut with `reset_command` and
// the same command with --accept-loss, when it ends in " --yes"; else ResetWayOut.
std::string LossOrResetWayOut(const std::string& reset_command, const std::string& data_dir,
                              const std::string& pipeline);

// `s` with `way_out` appended to its message as a sentence of its own (same code); `s` itself
// when ok or `way_out` is empty.
Status WithWayOut(const Status& s, const std::string& way_out);

}  // namespace onceflow::engine
