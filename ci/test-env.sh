# shellcheck shell=sh
# ci/test-env.sh - connection facts of the test services, for `source`.
#
# ci/services.sh and ci/ganeti.sh create the services with these values;
# tests read them from the environment.  A value already set in the
# environment wins, so a developer can point the tests elsewhere.
# Host and port values only describe where the servers listen; changing
# them does not move the servers that ci/services.sh starts.

# PostgreSQL 15 (role with CREATEDB, so Django can create test_* databases)
export SNF_TEST_PG_HOST="${SNF_TEST_PG_HOST:-127.0.0.1}"
export SNF_TEST_PG_PORT="${SNF_TEST_PG_PORT:-5432}"
export SNF_TEST_PG_USER="${SNF_TEST_PG_USER:-synnefo}"
export SNF_TEST_PG_PASSWORD="${SNF_TEST_PG_PASSWORD:-synnefo-test}"
export SNF_TEST_PG_NAME="${SNF_TEST_PG_NAME:-synnefo}"

# MariaDB 10.11 (all privileges on `synnefo` and `test\_%` databases)
export SNF_TEST_MYSQL_HOST="${SNF_TEST_MYSQL_HOST:-127.0.0.1}"
export SNF_TEST_MYSQL_PORT="${SNF_TEST_MYSQL_PORT:-3306}"
export SNF_TEST_MYSQL_USER="${SNF_TEST_MYSQL_USER:-synnefo}"
export SNF_TEST_MYSQL_PASSWORD="${SNF_TEST_MYSQL_PASSWORD:-synnefo-test}"
export SNF_TEST_MYSQL_NAME="${SNF_TEST_MYSQL_NAME:-synnefo}"

# RabbitMQ (vhosts synnefo-test and synnefo-demo; the URL names the test one)
export SNF_TEST_AMQP_URL="${SNF_TEST_AMQP_URL:-amqp://synnefo:synnefo-test@127.0.0.1:5672/synnefo-test}"

# Ganeti 3.0 fake-hypervisor cluster (ci/ganeti.sh), RAPI over HTTPS with a
# self-signed certificate: clients must not verify it.
export SNF_TEST_RAPI_HOST="${SNF_TEST_RAPI_HOST:-10.251.0.10}"
export SNF_TEST_RAPI_PORT="${SNF_TEST_RAPI_PORT:-5080}"
export SNF_TEST_RAPI_USER="${SNF_TEST_RAPI_USER:-ganeti-test}"
export SNF_TEST_RAPI_PASSWORD="${SNF_TEST_RAPI_PASSWORD:-ganeti-secret}"
export SNF_TEST_GANETI_CLUSTER="${SNF_TEST_GANETI_CLUSTER:-cluster.ganeti.test}"
export SNF_TEST_GANETI_NODE="${SNF_TEST_GANETI_NODE:-node1.ganeti.test}"
export SNF_TEST_GANETI_NETNS="${SNF_TEST_GANETI_NETNS:-gnt}"
