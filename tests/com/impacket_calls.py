"""impacket NDRCALL classes for the test interfaces (impacket pairs ``X`` with
``XResponse`` in the same module, and raises this module's ``DCERPCSessionError``)."""

from __future__ import annotations

from impacket.dcerpc.v5.dcomrt import DCOMANSWER, DCOMCALL
from impacket.dcerpc.v5.dtypes import LONG, ULONG
from impacket.dcerpc.v5.rpcrt import DCERPCException


class DCERPCSessionError(DCERPCException):
    def __init__(self, error_string: object = None, error_code: object = None,
                 packet: object = None) -> None:
        DCERPCException.__init__(self, error_string, error_code, packet)


class Add(DCOMCALL):  # ICalc::Add
    opnum = 3
    structure = (("a", LONG), ("b", LONG))


class AddResponse(DCOMANSWER):
    structure = (("sum", LONG), ("ErrorCode", ULONG))


class Fail(DCOMCALL):  # ICalc::Fail
    opnum = 4
    structure = (("hr", LONG),)


class FailResponse(DCOMANSWER):
    structure = (("ErrorCode", ULONG),)


class Count(DCOMCALL):  # IStats::Count
    opnum = 3
    structure = ()


class CountResponse(DCOMANSWER):
    structure = (("calls", LONG), ("ErrorCode", ULONG))
