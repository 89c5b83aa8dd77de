"""Self-signed certificates made with openssl, for tests that pin one."""

import subprocess


def rapi_pem(directory, name="cluster.example"):
    """A file as Ganeti's rapi.pem is: a private key, then its self-signed certificate."""
    key, cert = directory / (name + ".key"), directory / (name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
                    "-days", "2", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    pem = directory / (name + ".pem")
    pem.write_text(key.read_text() + cert.read_text())
    return pem


def openssl_fingerprint(pem_file):
    """What `openssl x509 -fingerprint -sha256` prints for the first certificate."""
    out = subprocess.run(["openssl", "x509", "-in", str(pem_file), "-noout", "-fingerprint",
                          "-sha256"], check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]
