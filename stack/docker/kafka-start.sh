#!/bin/bash
# The Docker path's broker, secured as stack/services/kafka.ts secures the local one (issue 13): both
# listeners SASL_PLAINTEXT, SCRAM-SHA-512 users for the program's principals (added when the data folder
# is formatted), PLAIN for the super-user `admin`, KRaft's standard authorizer, and the ACLs of
# kafka-acls.txt (generated from stack/kafkaAuth.ts; a unit test keeps them equal) granted once the
# broker answers. Passwords come from the secret /run/secrets/kafka-credentials, one `name=password`
# a line (`npm run stack:credentials` writes .stack/kafka/credentials, which docker-compose.yml mounts).
set -euo pipefail
set -f # the ACL lines hold `*` (every topic), which must reach kafka-acls.sh as it is

creds=/run/secrets/kafka-credentials
data=/var/lib/kafka/data
conf=/tmp/voiceloop-server.properties
admin_conf=/tmp/voiceloop-admin.properties
bin=/opt/kafka/bin

password() {
  local pw
  pw=$(sed -n "s/^$1=//p" "$creds" | head -n 1)
  if [ -z "$pw" ]; then
    echo "kafka-start.sh: $creds has no password for $1 (expected a line $1=<password>)" >&2
    exit 1
  fi
  printf '%s' "$pw"
}

admin_pw=$(password admin)
plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$admin_pw\" user_admin=\"$admin_pw\";"

umask 077
cat >"$conf" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:39093
listeners=BROKER://0.0.0.0:39092,CONTROLLER://0.0.0.0:39093
advertised.listeners=BROKER://127.0.0.1:39092
listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=BROKER
listener.name.broker.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.broker.plain.sasl.jaas.config=$plain
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$plain
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.mechanism.controller.protocol=PLAIN
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
log.dirs=$data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
cat >"$admin_conf" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw";
EOF

# The program's principals: every name in the secret but admin (stack/kafkaAuth.ts writes one per
# role and one per station, `station-<id>`).
mapfile -t principals < <(sed -n 's/^\([a-z0-9-]*\)=.*/\1/p' "$creds" | grep -vx admin)
formatted_now=
if [ ! -f "$data/meta.properties" ]; then
  scram=()
  for p in "${principals[@]}"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$p,password=$(password "$p")]")
  done
  "$bin/kafka-storage.sh" format -t "$CLUSTER_ID" -c "$conf" "${scram[@]}" >/dev/null
  echo "kafka-start.sh: formatted $data with the SCRAM users"
  formatted_now=1
fi

"$bin/kafka-server-start.sh" "$conf" &
server=$!
trap 'kill -TERM "$server"; wait "$server"' TERM INT

until "$bin/kafka-topics.sh" --bootstrap-server 127.0.0.1:39092 --command-config "$admin_conf" --list >/dev/null 2>&1; do
  sleep 2
done
# A data folder formatted before a principal existed: its SCRAM user is added through the broker.
if [ -z "$formatted_now" ]; then
  known=$("$bin/kafka-configs.sh" --bootstrap-server 127.0.0.1:39092 --command-config "$admin_conf" --describe --entity-type users)
  for p in "${principals[@]}"; do
    if ! grep -q "user-principal '$p'" <<<"$known"; then
      "$bin/kafka-configs.sh" --bootstrap-server 127.0.0.1:39092 --command-config "$admin_conf" --alter \
        --add-config "SCRAM-SHA-512=[password=$(password "$p")]" --entity-type users --entity-name "$p" >/dev/null
      echo "kafka-start.sh: SCRAM user $p added"
    fi
  done
fi
# Granting an ACL that exists changes nothing, so this runs on every start.
while read -r line; do
  [ -z "$line" ] && continue
  read -ra args <<<"$line"
  "$bin/kafka-acls.sh" --bootstrap-server 127.0.0.1:39092 --command-config "$admin_conf" --add --force "${args[@]}" >/dev/null
done </voiceloop/kafka-acls.txt
touch /tmp/voiceloop-acls-granted
echo "kafka-start.sh: ACLs granted"
wait "$server"
