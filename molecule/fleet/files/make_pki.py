# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test PKI made at run time on the controller (cryptography, which ansible-core depends on).

  python make_pki.py DIR NAME...
writes into DIR (keys 0600): ca.pem (a test root CA), gateway.pem + gateway.key (issued by it for the NAMEs),
and the bad inputs: other.key (a key of no certificate), expired.pem + expired.key (expired yesterday),
not-pem.txt (a CA bundle that is not PEM: the DER bytes of the CA, base64 without BEGIN/END lines).
Files that exist are kept, so a rerun serves the same certificate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def write(path, data, mode):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def issue(cn, key, signer, names=(), ca=False, start=NOW - DAY, end=NOW + 30 * DAY):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer, signing_key = (signer[0].subject, signer[1]) if signer else (subject, key)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        entries = []
        for name in names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                entries.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def main():
    out, names = sys.argv[1], sys.argv[2:]
    os.makedirs(out, mode=0o700, exist_ok=True)

    def path(name):
        return os.path.join(out, name)

    if not os.path.exists(path("ca.pem")):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = issue("Claude Gateway Test Root CA", ca_key, None, ca=True, end=NOW + 365 * DAY)
        write(path("ca.key"), key_pem(ca_key), 0o600)
        write(path("ca.pem"), ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    with open(path("ca.pem"), "rb") as handle:
        ca = (x509.load_pem_x509_certificate(handle.read()), load_key(path("ca.key")))
    for stem, start, end in (("gateway", NOW - DAY, NOW + 30 * DAY), ("expired", NOW - 30 * DAY, NOW - DAY)):
        if not os.path.exists(path(stem + ".pem")):
            key = ec.generate_private_key(ec.SECP256R1())
            write(path(stem + ".key"), key_pem(key), 0o600)
            cert = issue(names[0], key, ca, names, start=start, end=end)
            write(path(stem + ".pem"), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    if not os.path.exists(path("other.key")):
        write(path("other.key"), key_pem(ec.generate_private_key(ec.SECP256R1())), 0o600)
    write(path("not-pem.txt"), base64.b64encode(ca[0].public_bytes(serialization.Encoding.DER)) + b"\n", 0o644)


if __name__ == "__main__":
    main()
