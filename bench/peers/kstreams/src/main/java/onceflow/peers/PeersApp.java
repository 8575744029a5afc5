// The Kafka Streams jobs of bench/peers, both with processing.guarantee=exactly_once_v2:
//   passthrough BOOTSTRAP APP_ID STATE_DIR IN OUT            copies IN to OUT
//   ledger      BOOTSTRAP APP_ID STATE_DIR IN LEDGER BALANCES
// The ledger reads transfers {"id","from","to","amount"} keyed by the payer, writes each
// transfer to LEDGER and keeps every account's balance in a state store ("balances", a debit
// for `from`, a credit for `to`, repartitioned by account), whose updates go to BALANCES (key and
// value 8-byte longs). It runs until SIGTERM (a clean close) or SIGKILL.
package onceflow.peers;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public final class PeersApp {
  // The value of the integer field `name` in a flat JSON object such as the workload's.
  static long field(String json, String name) {
    String key = "\"" + name + "\":";
    int i = json.indexOf(key);
    if (i < 0) throw new IllegalArgumentException("no field '" + name + "' in " + json);
    i += key.length();
    while (json.charAt(i) == ' ') i++;
    int j = i;
    if (json.charAt(j) == '-') j++;
    while (j < json.length() && Character.isDigit(json.charAt(j))) j++;
    return Long.parseLong(json.substring(i, j));
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 6) {
      System.err.println("usage: PeersApp passthrough|ledger BOOTSTRAP APP_ID STATE_DIR IN OUT [BALANCES]");
      System.exit(2);
    }
    String mode = args[0];
    Properties p = new Properties();
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[3]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> in = b.stream(args[4], Consumed.with(Serdes.String(), Serdes.String()));
    in.to(args[5], Produced.with(Serdes.String(), Serdes.String()));
    if (mode.equals("ledger")) {
      if (args.length < 7) throw new IllegalArgumentException("ledger needs a BALANCES topic");
      in.flatMap((k, v) -> {
            long from = field(v, "from"), to = field(v, "to"), amount = field(v, "amount");
            return List.of(KeyValue.pair(from, -amount), KeyValue.pair(to, amount));
          })
          .groupByKey(Grouped.with("by-account", Serdes.Long(), Serdes.Long()))
          .reduce(Long::sum, Materialized.<Long, Long, org.apache.kafka.streams.state.KeyValueStore<
                      org.apache.kafka.common.utils.Bytes, byte[]>>as("balances")
                      .withKeySerde(Serdes.Long()).withValueSerde(Serdes.Long()))
          .toStream()
          .to(args[6], Produced.with(Serdes.Long(), Serdes.Long()));
    } else if (!mode.equals("passthrough")) {
      throw new IllegalArgumentException("mode must be passthrough or ledger, not " + mode);
    }
    KafkaStreams streams = new KafkaStreams(b.build(), p);
    CountDownLatch done = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) System.err.println("peers-kstreams: running");
      if (now == KafkaStreams.State.ERROR) {
        System.err.println("peers-kstreams: error state");
        done.countDown();
      }
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      done.countDown();
    }));
    streams.start();
    done.await();
    streams.close();
  }
}
