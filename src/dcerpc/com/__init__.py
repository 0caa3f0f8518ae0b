"""``dcerpc.com``: COM objects over DCOM/ORPC ([MS-DCOM]).

Server: :class:`ComServer` hosts Python COM classes (``_com_interfaces_`` + methods by
IDL name, :mod:`.comobject`). Client: :func:`CoCreateInstanceEx` / :func:`CoCreateInstance`
/ :func:`CoGetClassObject` return :class:`ComPtr` proxies with the interface's methods,
``QueryInterface``, ``AddRef`` and ``Release``; local COM objects passed as ``[in]``
interface pointers are exported by the client (:mod:`.local`,
:func:`set_local_exporter`). Failures are :class:`COMError` with an
unsigned ``hresult``. :mod:`dcerpc.com.aio` is the asyncio face of the client. See
``docs/com.md``.
"""

from __future__ import annotations

from . import guids, hresult
from .activate import CoCreateInstance, CoCreateInstanceEx, CoGetClassObject
from .callobj import CallFactory, ClientCallObject
from .cancellation import CoDisableCancellation, CoEnableCancellation
from .client import ComPtr, register_interface, unmarshal
from .exporter import Exporter
from .guids import GUID, IID_IClassFactory, IID_IUnknown
from .hresult import E_FAIL, E_NOINTERFACE, FAILED, S_OK, SUCCEEDED, COMError
from .inproc import InprocPtr, inproc, register_class
from .local import close_local_exporter, set_local_exporter
from .security import (
    SOLE_AUTHENTICATION_INFO,
    Blanket,
    CoGetCallContext,
    CoImpersonateClient,
    CoInitializeSecurity,
    CoRevertToSelf,
    CoSetProxyBlanket,
    IID_IClientSecurity,
    IID_IServerSecurity,
)
from .server import ClassFactory, ComServer
from .servercall import ServerCallControl
from .sync import (
    COWAIT_ALERTABLE,
    COWAIT_DEFAULT,
    COWAIT_WAITALL,
    CoWaitForMultipleHandles,
    ManualResetEvent,
    StdEvent,
    SynchronizeContainer,
)

__all__ = [
    "COWAIT_ALERTABLE",
    "COWAIT_DEFAULT",
    "COWAIT_WAITALL",
    "E_FAIL",
    "E_NOINTERFACE",
    "FAILED",
    "GUID",
    "SOLE_AUTHENTICATION_INFO",
    "SUCCEEDED",
    "S_OK",
    "Blanket",
    "COMError",
    "CallFactory",
    "ClassFactory",
    "ClientCallObject",
    "CoCreateInstance",
    "CoCreateInstanceEx",
    "CoDisableCancellation",
    "CoEnableCancellation",
    "CoGetCallContext",
    "CoGetClassObject",
    "CoImpersonateClient",
    "CoInitializeSecurity",
    "CoRevertToSelf",
    "CoSetProxyBlanket",
    "CoWaitForMultipleHandles",
    "ComPtr",
    "ComServer",
    "Exporter",
    "IID_IClassFactory",
    "IID_IClientSecurity",
    "IID_IServerSecurity",
    "IID_IUnknown",
    "InprocPtr",
    "ManualResetEvent",
    "ServerCallControl",
    "StdEvent",
    "SynchronizeContainer",
    "close_local_exporter",
    "guids",
    "hresult",
    "inproc",
    "register_class",
    "register_interface",
    "set_local_exporter",
    "unmarshal",
]
