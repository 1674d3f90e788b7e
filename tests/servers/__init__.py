"""Real servers and protocol-faithful emulators the provider tests talk to on 127.0.0.1.

- :mod:`tests.servers.openbao`: OpenBao's ``bao server -dev`` (the Vault API).
- :mod:`tests.servers.moto_server`: moto's server mode (AWS Secrets Manager).
- :mod:`tests.servers.azure_emulator`: Azure Key Vault secrets REST API over HTTPS.
- :mod:`tests.servers.gcp_emulator`: GCP Secret Manager v1 REST API.
- :mod:`tests.servers.fault_proxy`: an HTTP proxy that injects throttling, 5xx bursts
  and outages in front of any of them.
"""
