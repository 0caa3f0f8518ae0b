"""The sans-IO connection-oriented protocol core: client and server associations.

See the theory-of-operation blocks in :mod:`._connection_base`, :mod:`._client` and
:mod:`._server`. Usage (server)::

    policy = InterfacePolicy(); policy.register(SyntaxId.make(IFACE_UUID, 1, 0), iface)
    conn = ServerConnection(policy, ConnectionConfig(sec_addr="135"))
    conn.receive_data(chunk)
    while (event := conn.next_event()) is not NEED_DATA:
        ...                                   # RequestReceived → conn.send_response(...)
    transport.write(conn.data_to_send())
"""

from __future__ import annotations

from ._client import ClientConnection
from ._config import ConnectionConfig, negotiate_frag
from ._connection_base import ConnectionState
from ._fragments import FragmentLimitError
from ._negotiation import AssociationGroups, InterfacePolicy
from ._security import SecurityHook
from ._server import ServerConnection

__all__ = [
    "AssociationGroups",
    "ClientConnection",
    "ConnectionConfig",
    "ConnectionState",
    "FragmentLimitError",
    "InterfacePolicy",
    "SecurityHook",
    "ServerConnection",
    "negotiate_frag",
]
