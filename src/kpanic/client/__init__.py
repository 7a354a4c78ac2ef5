"""The crashed machine's side of kpanic: find the crashes of earlier boots, preview, send.

``collect`` (sources.py) walks the places a crash survives a reboot (pstore, systemd-pstore's
archive, the journal of earlier boots, kdump's vmcore-dmesg, syslog files) and returns one
:class:`~kpanic.client.model.Crash` per crash; ``state`` remembers what was already handled;
``spool`` and ``send`` deliver to a kpanic server, durably and idempotently.
"""
