// Helpers for the PKI unit tests: independent checks with the system openssl and (when installed) Go,
// so the tests do not only agree with our own parser.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs fn with a fresh temporary directory, removed afterwards. */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'kubeception-pki-test-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], input?: string, cwd?: string): CommandResult {
  const result = spawnSync(command, args, { input, cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `openssl verify -x509_strict [-purpose p] -CAfile ca.pem cert.pem`; x509_strict also checks that the
 * CA has SKI/keyCertSign and the leaf an AKI.
 */
export function opensslVerify(caPem: string, certPem: string, purpose?: 'sslserver' | 'sslclient'): CommandResult {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'cert.pem'), certPem);
    return run('openssl', ['verify', '-x509_strict', ...(purpose ? ['-purpose', purpose] : []), '-CAfile', 'ca.pem', 'cert.pem'], undefined, dir);
  });
}

/** `openssl x509 -noout -text` output. */
export function opensslText(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem, encoding: 'utf8' });
}

/** One-line subject as openssl prints it with RFC 2253 escaping off, e.g. "O=a:b_c, CN=x". */
export function opensslSubject(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'sep_comma_plus_space,utf8,dump_nostr'], {
    input: certPem,
    encoding: 'utf8',
  }).trim();
}

export function goAvailable(): boolean {
  try {
    return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
  } catch {
    return false;
  }
}

// Parses every certificate with Go's crypto/x509 (which rejects e.g. `_` in a PrintableString) and
// verifies it against the CA; prints "CN|O1,O2" per certificate.
const GO_CHECK = `package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

func load(path string) *x509.Certificate {
	data, err := os.ReadFile(path)
	if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(2) }
	block, _ := pem.Decode(data)
	if block == nil { fmt.Fprintln(os.Stderr, "no PEM block in", path); os.Exit(2) }
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil { fmt.Fprintln(os.Stderr, "parse", path+":", err); os.Exit(1) }
	return cert
}

func main() {
	pool := x509.NewCertPool()
	pool.AddCert(load(os.Args[1]))
	for _, path := range os.Args[2:] {
		cert := load(path)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			fmt.Fprintln(os.Stderr, "verify", path+":", err); os.Exit(1)
		}
		fmt.Printf("%s|%s\\n", cert.Subject.CommonName, strings.Join(cert.Subject.Organization, ","))
	}
}
`;

/** Go's view of the certificates (CN and O list each), after parsing and verifying them against the CA. */
export function goParseAndVerify(caPem: string, certPems: string[]): CommandResult {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'main.go'), GO_CHECK);
    writeFileSync(join(dir, 'ca.pem'), caPem);
    certPems.forEach((pem, i) => writeFileSync(join(dir, `cert${i}.pem`), pem));
    return run('go', ['run', 'main.go', 'ca.pem', ...certPems.map((_, i) => `cert${i}.pem`)], undefined, dir);
  });
}
