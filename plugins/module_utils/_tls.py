# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS material checked before it is installed: a server certificate chain with its key, and a CA bundle.

Used by the gateway_tls_check module. Every refusal is a TlsError naming the problem and the fix; no message
ever holds a private key. Needs the ``cryptography`` package (a dependency of ansible-core, so always there on
the controller); the import is guarded so that the module can report it missing on another host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import re

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_CRYPTOGRAPHY = False

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
# A rough shape of PEM text, to tell content from a file path before anything is parsed.
PEM_HINT = "-----BEGIN "
DEFAULT_WARN_DAYS = 14


class TlsError(Exception):
    """One or more problems of the TLS material, each with its fix."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(TlsError, self).__init__(str(self))

    def __str__(self):
        return " ".join("%s. Fix: %s." % (problem.rstrip("."), fix.rstrip(".")) for problem, fix in self.problems)


def source_kind(value, remote_src=False):
    """How TLS material is given: none, ref (a secret-store reference), pem (the text itself), host or
    controller (a path on the managed host or on the controller, by ``remote_src``), or invalid."""
    if value is None or value == "":
        return "none"
    if isinstance(value, dict):
        return "ref" if value.get("name") else "invalid"
    if not isinstance(value, str):
        return "invalid"
    if PEM_HINT in value:
        return "pem"
    return "host" if remote_src else "controller"


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def _not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _text(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def pem_blocks(data):
    """[(label, whole block)] of PEM text, in order."""
    return [(m.group(1), m.group(0)) for m in PEM_BLOCK.finditer(_text(data))]


def describe(cert):
    """Subject (its CN, else the whole name), for messages."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return "CN=%s" % cns[0].value if cns else (cert.subject.rfc4514_string() or "(empty subject)")


def san_names(cert):
    """DNS names and IP addresses of the certificate's subjectAltName, as strings."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in san.get_values_for_type(x509.DNSName)] + \
        [str(v) for v in san.get_values_for_type(x509.IPAddress)]


def is_ca(cert):
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def name_covered(name, sans):
    """Whether ``name`` (a host name or an IP address) is covered by ``sans`` as a TLS client checks it.

    An IP address must be an IP entry; a host name matches a DNS entry exactly (case-insensitive) or a
    wildcard entry ``*.rest`` whose ``*`` stands for exactly one leftmost label.
    """
    name = name.strip().rstrip(".").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    for entry in sans:
        entry = entry.lower().rstrip(".")
        if address is not None:
            try:
                if ipaddress.ip_address(entry) == address:
                    return True
            except ValueError:
                pass
            continue
        if entry == name:
            return True
        if entry.startswith("*.") and "." in name and name.split(".", 1)[1] == entry[2:] and name.split(".", 1)[0]:
            return True
    return False


def load_certificates(data, what):
    """The certificates of PEM text, in order; a TlsError when there is none or a block is not one."""
    blocks = pem_blocks(data)
    if not blocks:
        raise TlsError([("%s holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' block)" % what,
                         "give PEM text (base64 between BEGIN/END CERTIFICATE lines); convert a DER file with "
                         "'openssl x509 -inform der -in FILE -out FILE.pem'")])
    certs = []
    for index, (label, block) in enumerate(blocks):
        if label != "CERTIFICATE":
            raise TlsError([("%s block %d is a '%s', not a CERTIFICATE" % (what, index + 1, label),
                             "keep only certificates in %s (a private key or request belongs elsewhere)" % what)])
        try:
            certs.append(x509.load_pem_x509_certificate(block.encode("ascii", "replace")))
        except ValueError as exc:
            raise TlsError([("%s block %d is not a valid certificate (%s)" % (what, index + 1, exc),
                             "export the certificate again as PEM")])
    return certs


def load_private_key(data, what):
    """The private key of PEM text; a TlsError (never showing the key) otherwise."""
    blocks = [block for label, block in pem_blocks(data) if label.endswith("PRIVATE KEY")]
    if len(blocks) != 1:
        raise TlsError([("%s holds %s PEM private key" % (what, "no" if not blocks else "more than one"),
                         "give exactly one unencrypted PEM private key ('-----BEGIN PRIVATE KEY-----', "
                         "'RSA PRIVATE KEY' or 'EC PRIVATE KEY')")])
    if "ENCRYPTED" in blocks[0].split("\n", 1)[0] or "Proc-Type: 4,ENCRYPTED" in blocks[0]:
        raise TlsError([("%s is encrypted with a passphrase" % what,
                         "give the key unencrypted ('openssl pkey -in KEY -out KEY.plain'): the gateway reads it at "
                         "start with no one to type a passphrase, and the role installs it readable only by root and "
                         "the service")])
    try:
        return serialization.load_pem_private_key(blocks[0].encode("ascii", "replace"), password=None)
    except (ValueError, TypeError) as exc:
        # The exception text of cryptography names the format problem, never the key material.
        raise TlsError([("%s is not a valid private key (%s)" % (what, str(exc).split("\n", 1)[0][:120]),
                         "export the key again as unencrypted PEM")])


def _public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def validity_problems(cert, now, what):
    """(problems, days left) of one certificate's validity period."""
    problems = []
    not_before, not_after = _not_before(cert), _not_after(cert)
    if now < not_before:
        problems.append(("%s (%s) is not valid yet: its validity starts %s" % (what, describe(cert), not_before.isoformat()),
                         "check the clock of the machine that issued it and of this one, or wait until then"))
    if now > not_after:
        problems.append(("%s (%s) expired on %s" % (what, describe(cert), not_after.isoformat()),
                         "renew the certificate and give the new one"))
    return problems, int((not_after - now).total_seconds() // 86400)


def certificate_info(cert, now):
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "not_before": _not_before(cert).isoformat(), "not_after": _not_after(cert).isoformat(),
            "days_left": int((_not_after(cert) - now).total_seconds() // 86400), "names": san_names(cert),
            "is_ca": is_ca(cert), "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex()}


def check_server(cert_pem, key_pem=None, names=None, warn_days=DEFAULT_WARN_DAYS, now=None):
    """Check a server certificate chain (leaf first) and its key before they are installed.

    Refuses (TlsError, every problem at once): no certificate, a key that is not the leaf's, a certificate
    of the chain expired or not yet valid, a name of ``names`` the leaf does not cover. Returns the leaf's
    details with ``warnings`` (expiry within ``warn_days`` days).
    """
    now = now or _utc_now()
    chain = load_certificates(cert_pem, "the certificate")
    leaf = chain[0]
    problems = []
    if key_pem is not None:
        key = load_private_key(key_pem, "the private key")
        if _public_der(key.public_key()) != _public_der(leaf.public_key()):
            problems.append(("the private key does not belong to the certificate (%s): their public keys differ"
                             % describe(leaf),
                             "give the key the certificate was issued for (compare 'openssl x509 -noout -pubkey -in "
                             "CERT' with 'openssl pkey -pubout -in KEY'), or the certificate issued for this key"))
    for index, cert in enumerate(chain):
        found, _days = validity_problems(cert, now, "the certificate" if index == 0 else
                                         "certificate %d of the chain" % (index + 1))
        problems.extend(found)
    sans = san_names(leaf)
    missing = [n for n in (names or []) if n and not name_covered(str(n), sans)]
    if missing:
        problems.append(("the certificate (%s) does not cover %s: its subjectAltName holds %s"
                         % (describe(leaf), ", ".join(missing), ", ".join(sans) or "nothing"),
                         "issue a certificate whose subjectAltName lists every name clients use for the gateway "
                         "(the host of its URL); clients ignore the subject CN"))
    if problems:
        raise TlsError(problems)
    info = certificate_info(leaf, now)
    info["chain_length"] = len(chain)
    info["warnings"] = expiry_warnings(chain, now, warn_days, "the certificate")
    return info


def expiry_warnings(certs, now, warn_days, what):
    out = []
    for index, cert in enumerate(certs):
        days = int((_not_after(cert) - now).total_seconds() // 86400)
        if 0 <= (_not_after(cert) - now).total_seconds() and days < warn_days:
            label = what if len(certs) == 1 else "%s %d" % (what, index + 1)
            out.append("%s (%s) expires in %d day%s, on %s: renew it" % (
                label, describe(cert), days, "" if days == 1 else "s", _not_after(cert).isoformat()))
    return out


def check_ca_bundle(pem, warn_days=DEFAULT_WARN_DAYS, now=None):
    """Check a CA bundle clients will trust: PEM certificates only, at least one still valid.

    Returns {count, certificates: [...], warnings}: an expired certificate among valid ones, one that is not
    a CA, or one expiring within ``warn_days`` days is a warning.
    """
    now = now or _utc_now()
    certs = load_certificates(pem, "the CA bundle")
    warnings = []
    valid = 0
    for index, cert in enumerate(certs):
        found, _days = validity_problems(cert, now, "CA bundle certificate %d" % (index + 1))
        if found:
            warnings.extend("%s (fix: %s)" % problem for problem in found)
        else:
            valid += 1
        if not is_ca(cert):
            warnings.append("CA bundle certificate %d (%s) is not a CA certificate (no basicConstraints CA:TRUE); "
                            "it is trusted only as itself" % (index + 1, describe(cert)))
    if not valid:
        raise TlsError([("every certificate of the CA bundle is expired or not yet valid",
                         "give the current certificate of the CA that issued the gateway's certificate")])
    warnings.extend(expiry_warnings(certs, now, warn_days, "CA bundle certificate"))
    return {"count": len(certs), "certificates": [certificate_info(c, now) for c in certs], "warnings": warnings}
