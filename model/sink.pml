/* The transactional sink: one progress row per (pipeline, task) and the output, changed together
   in one transaction (src/sink/transactional_sink.cc, the decisions of src/sink/sink_protocol.cc:
   DecideTask, DecideClaim). A transaction is one atomic step: the SQL sinks lock the rows they
   read (BEGIN IMMEDIATE, SELECT ... FOR UPDATE), so transactions are serializable. A fault
   point inside an open transaction (mid_sink_write, before_sink_commit) is taken before that
   step: the transaction then never commits, which is all a crash or a rollback there leaves.
   REQUIRES: NT (tasks = partitions) and E (records per partition) defined, invariant.pml
   included. */

mtype = { COMMITTED, ALREADY, FENCED };

/* The progress rows: (last_batch, epoch, ranges). A row made by a claim has no batch (-1) and
   no ranges yet. Each task reads one partition, so a row's ranges are one range [from, until). */
bool  row_exists[NT];
bool  row_ranged[NT];
short row_batch[NT] = -1;
byte  row_epoch[NT];
byte  row_from[NT];
byte  row_until[NT];

/* Ghosts (not in the sink; they observe it). out[t*E+o]: how many times the output of record o
   of partition t has been committed to the sink. fence[t]: the newest epoch (driver epoch or
   group generation) that has claimed row t or committed to it. */
byte  out[NT*E];
byte  fence[NT];

#define OUT(t, o) out[(t)*E + (o)]

#ifdef WRONG_COMMIT_NO_EPOCH
#define COMMIT_EPOCH_CHECK 0
#else
#define COMMIT_EPOCH_CHECK 1
#endif
#ifdef WRONG_CLAIM_NO_EPOCH
#define CLAIM_EPOCH_CHECK 0
#else
#define CLAIM_EPOCH_CHECK 1
#endif

/* Where each partition's output ends in the sink (0: nothing committed yet). */
#define SINK_REACH(t) (row_ranged[t] -> row_until[t] : 0)

/* The temporaries of sink_commit and sink_claim, declared once in each process that calls them. */
#define SINK_LOCALS byte st; byte so; mtype dec[NT]
/* Scratch cleared after each transaction, so that it tells no two states apart. */
#define SINK_CLEAR                                 \
  st = 0;                                          \
  do                                               \
  :: st < NT -> dec[st] = 0; st++                  \
  :: else -> break                                 \
  od;                                              \
  st = 0;                                          \
  so = 0

/* DecideTask: the decision for task t of a commit of batch b with epoch ep and range [f, u).
   The sink's refusals (replay with other ranges, gap, overlap) stop the pipeline with an error
   for a person to look at: the protocol alone must never lead there, so the model asserts it. */
inline decide_task(t, ep, b, f, u, d) {
  if
  :: !row_exists[t] -> d = COMMITTED
  :: else ->
    if
    :: COMMIT_EPOCH_CHECK && row_epoch[t] > ep -> d = FENCED
    :: else ->
      if
      :: row_ranged[t] && row_batch[t] == b && (row_from[t] != f || row_until[t] != u) ->
        CHECK(false, "MODEL: the sink refuses task %d batch %d: replayed with other ranges\n", t, b)
      :: else ->
        if
        :: row_batch[t] >= b -> d = ALREADY
        :: else ->
          if
          :: row_ranged[t] && row_until[t] != f ->
            CHECK(false,
                  "MODEL: the sink refuses task %d batch %d: a gap or overlap (%d after %d)\n",
                  t, b, f, row_until[t])
          :: else -> d = COMMITTED
          fi
        fi
      fi
    fi
  fi
}

/* TransactionalSink::Commit (commit_mode = "batch": every task of the batch in one transaction):
   the tasks with has_st, range [from_st, until_st), batch b, epoch ep (each argument *_st is an
   expression of the loop variable st, e.g. has[st]: Promela passes no arrays). `outcome`:
   FENCED (nothing written), else COMMITTED if some task was written, ALREADY if every task was
   already there. Checked on every landing: no record's output is in the sink twice, and no
   commit lands with an epoch older than one that already claimed or wrote the row (a zombie is
   fenced). */
inline sink_commit(ep, b, has_st, from_st, until_st, outcome) {
  d_step {
    outcome = ALREADY;
    for (st : 0 .. NT - 1) {
      dec[st] = ALREADY;
      if
      :: has_st ->
        decide_task(st, ep, b, from_st, until_st, dec[st]);
        if
        :: dec[st] == FENCED -> outcome = FENCED
        :: else
        fi
      :: else
      fi
    }
    if
    :: outcome == FENCED -> skip  /* rolled back: nothing of the transaction */
    :: else ->
      for (st : 0 .. NT - 1) {
        if
        :: dec[st] == COMMITTED ->
          CHECK(ep >= fence[st],
                "MODEL: a commit of epoch %d lands on task %d after epoch %d took it\n", ep, st,
                fence[st]);
          fence[st] = ep;
          so = from_st;
          do
          :: so < until_st ->
            OUT(st, so)++;
            CHECK(OUT(st, so) <= 1, "MODEL: record %d:%d is in the sink twice\n", st, so);
            so++
          :: else -> break
          od;
          row_exists[st] = true; row_ranged[st] = true; row_batch[st] = b;
          row_epoch[st] = ep; row_from[st] = from_st; row_until[st] = until_st;
          outcome = COMMITTED
        :: else
        fi
      }
    fi;
    SINK_CLEAR
  }
}

/* TransactionalSink::Claim (DecideClaim): the tasks with owns_st (an expression of st) taken
   over for generation gen in one transaction. A row held by a newer generation refuses the whole
   claim (FENCED, nothing changes); else every row's epoch becomes gen (a row is created if
   missing), and the claim returns each row: where its output ends (reach_st) and its last batch
   (last_st). */
inline sink_claim(gen, owns_st, reach_st, last_st, outcome) {
  d_step {
    outcome = COMMITTED;
    for (st : 0 .. NT - 1) {
      if
      :: owns_st && row_exists[st] && CLAIM_EPOCH_CHECK && row_epoch[st] > gen -> outcome = FENCED
      :: else
      fi
    }
    if
    :: outcome == FENCED -> skip
    :: else ->
      for (st : 0 .. NT - 1) {
        if
        :: owns_st ->
          if
          :: !row_exists[st] -> row_exists[st] = true; row_ranged[st] = false; row_batch[st] = -1
          :: else
          fi;
          row_epoch[st] = gen;
          if
          :: gen > fence[st] -> fence[st] = gen
          :: else
          fi;
          reach_st = SINK_REACH(st);
          last_st = row_batch[st]
        :: else
        fi
      }
    fi;
    SINK_CLEAR
  }
}

