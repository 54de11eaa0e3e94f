// First-boot script of a pooler instance (Amazon Linux 2023, run once by cloud-init as root).
// It installs Node 22, the CloudWatch agent and the pooler bundle, writes the environment and the
// listen settings, installs the systemd unit shipped inside the bundle, starts the pooler and waits
// until /readyz answers 200. The stack wraps it in a trap that reports the exit status to
// CloudFormation (cfn-signal), so a bundle that cannot become ready fails the deploy and rolls
// back instead of replacing a healthy fleet.
//
// Values may be CloudFormation tokens (resolved at deploy time); none contains a single quote.

export interface PoolerUserDataParams {
  readonly stage: string;
  readonly region: string;
  readonly table: string;
  readonly kmsKeyId: string;
  readonly poolerTag: string;
  /** s3://bucket/key.zip of the bundle (deploy/build-bundle.ts output, zipped as a CDK asset). */
  readonly bundleUrl: string;
  /** Content hash of the bundle: names the release directory. */
  readonly bundleHash: string;
  readonly port: number;
  readonly healthPort: number;
  /** Where the other instances forward CancelRequests for this instance's cancel-key node (peer port). */
  readonly cancelPort: number;
  readonly shutdownTimeoutSeconds: number;
  readonly logGroupName: string;
}

// The layout on an instance; the systemd unit (deploy/switchyard.service) uses the same paths.
const INSTALL = '/opt/switchyard';
const CONFIG_DIR = '/etc/switchyard';
const LOG_DIR = '/var/log/switchyard';

/** The variable assignments followed by the fixed script; the result is one bash program. */
export function poolerUserData(p: PoolerUserDataParams): string {
  const vars: Record<string, string> = {
    SWITCHYARD_STAGE: p.stage,
    AWS_REGION: p.region,
    SWITCHYARD_TABLE: p.table,
    SWITCHYARD_KMS_KEY_ID: p.kmsKeyId,
    SWITCHYARD_POOLER_TAG: p.poolerTag,
    BUNDLE_URL: p.bundleUrl,
    BUNDLE_HASH: p.bundleHash,
    LISTEN_PORT: String(p.port),
    HEALTH_PORT: String(p.healthPort),
    CANCEL_PORT: String(p.cancelPort),
    SHUTDOWN_TIMEOUT: String(p.shutdownTimeoutSeconds),
    LOG_GROUP: p.logGroupName,
  };
  const assignments = Object.entries(vars).map(([k, v]) => `${k}='${v}'`);
  return [...assignments, SCRIPT].join('\n');
}

const SCRIPT = String.raw`set -euo pipefail
exec > >(tee -a /var/log/switchyard-install.log) 2>&1
echo "switchyard: installing release $BUNDLE_HASH for stage $SWITCHYARD_STAGE"

# Node.js 22 is namespaced on AL2023: the package installs /usr/bin/node-22, which the unit runs
# (Amazon Linux 2023 User Guide, "Node.js in AL2023"). cfn-bootstrap provides cfn-signal.
dnf install -y nodejs22 unzip logrotate amazon-cloudwatch-agent aws-cfn-bootstrap

# The SSM agent ships with AL2023; it carries the control plane's reload commands.
systemctl enable --now amazon-ssm-agent

# The bundle: one release directory per content hash, "current" points at the running one.
release="${INSTALL}/releases/$BUNDLE_HASH"
install -d -m 0755 "${INSTALL}/releases"
tmp="$(mktemp -d)"
aws s3 cp --region "$AWS_REGION" "$BUNDLE_URL" "$tmp/pooler.zip"
rm -rf "$release"
install -d -m 0755 "$release"
unzip -q "$tmp/pooler.zip" -d "$release"
rm -rf "$tmp"
chmod -R a+rX "$release"
ln -sfn "$release" "${INSTALL}/current"

# Environment (no secrets: passwords are decrypted by the pooler itself with the instance role).
install -d -m 0755 "${CONFIG_DIR}" "${LOG_DIR}"
cat > "${CONFIG_DIR}/pooler.env" <<EOF
SWITCHYARD_STAGE=$SWITCHYARD_STAGE
SWITCHYARD_TABLE=$SWITCHYARD_TABLE
SWITCHYARD_KMS_KEY_ID=$SWITCHYARD_KMS_KEY_ID
SWITCHYARD_POOLER_TAG=$SWITCHYARD_POOLER_TAG
AWS_REGION=$AWS_REGION
NODE_ENV=production
SWITCHYARD_POOLER_ARGS=--source aws --config ${CONFIG_DIR}/pooler.yaml
EOF
chmod 0644 "${CONFIG_DIR}/pooler.env"

# This instance's private IP (IMDSv2): the other instances forward CancelRequests for its clients
# to it. Behind the NLB a CancelRequest may reach any instance; each leases its own cancel-key
# node id from the table (cluster.node_id auto) and publishes this address with it, so identical
# instances need no per-instance settings (docs/workers.md, "Cancel requests").
imds_token="$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)"
PRIVATE_IP="$(curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/local-ipv4)"

# Listener, drain time, the health/metrics endpoint (the NLB health-checks /readyz on it, so it
# listens on all interfaces; the security group admits only the NLB) and the cancel peer port
# (the security group admits only the other poolers). Tenants and targets come from AWS
# (--source aws), so this file lists none.
cat > "${CONFIG_DIR}/pooler.yaml" <<EOF
listen:
  host: 0.0.0.0
  port: $LISTEN_PORT
limits:
  shutdown_timeout: $SHUTDOWN_TIMEOUT
metrics:
  host: 0.0.0.0
  port: $HEALTH_PORT
cluster:
  node_id: auto
  peer_port: $CANCEL_PORT
  advertise_host: $PRIVATE_IP
EOF
chmod 0644 "${CONFIG_DIR}/pooler.yaml"

# Logs: the unit appends stdout (pino JSON) to a file the CloudWatch agent ships; logrotate
# truncates in place, which O_APPEND writers tolerate.
cat > /etc/logrotate.d/switchyard <<EOF
${LOG_DIR}/*.log {
  daily
  rotate 3
  maxsize 200M
  missingok
  notifempty
  compress
  copytruncate
}
EOF
cat > /opt/aws/amazon-cloudwatch-agent/etc/switchyard.json <<EOF
{
  "agent": { "run_as_user": "root" },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "${LOG_DIR}/pooler.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/pooler" },
          { "file_path": "/var/log/switchyard-install.log", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}/install" }
        ]
      }
    }
  }
}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/switchyard.json

# The unit comes with the bundle, so a release and its unit always match.
install -m 0644 "$release/switchyard.service" /etc/systemd/system/switchyard.service
systemctl daemon-reload
systemctl enable --now switchyard.service

# Ready means: tenants loaded, listening (GET /readyz is 200). Only then tell CloudFormation.
for _ in $(seq 1 90); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$HEALTH_PORT/readyz"; then
    echo "switchyard: ready"
    exit 0
  fi
  sleep 2
done
echo "switchyard: not ready after 180 s" >&2
systemctl status switchyard.service --no-pager >&2 || true
exit 1`;
