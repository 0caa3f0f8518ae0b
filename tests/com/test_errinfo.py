"""Extended error information: ErrorObjectData in ORPCTHAT ([MS-DCOM] 2.2.21.1-3)."""

from __future__ import annotations

import asyncio
import struct
import uuid

import pytest

from dcerpc.com import CoCreateInstance, COMError, ComServer, hresult
from dcerpc.com import aio as com_aio
from dcerpc.com._orpc import dcom_idl, orpcthat
from dcerpc.com.errinfo import (
    CLSID_ERROR_EXTENSION,
    ErrorDetails,
    decode_error_object,
    encode_error_object,
    error_extensions,
    error_from_orpcthat,
)
from dcerpc.errors import NdrError
from dcerpc.ndr import decode, encode

from .calc_impl import CLSID_Calc, calc_idl

IID = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b01")


def test_error_object_round_trip_and_layout() -> None:
    d = ErrorDetails("it broke", "Calc.1", None, 7, IID)
    data = encode_error_object(d)
    # dwVersion 0, dwHelpContext, iid, then dwSourceSignature 0xFFFFFFFF + ErrorInfoString
    assert data[:8] == struct.pack("<II", 0, 7) and data[8:24] == IID.bytes_le
    assert struct.unpack_from("<IIII", data, 24) == (0xFFFFFFFF, 7, 0, 7)  # "Calc.1\0"
    assert data.endswith(struct.pack("<I", 0))  # no HelpFile: signature 0
    assert decode_error_object(data) == d


def test_strings_on_ndr_boundaries_are_read_too() -> None:
    # "abc\0" is 8 bytes; "ab\0" 6: a writer aligning the next signature adds 2 bytes
    d = ErrorDetails("ab", "x", "h", 0, IID)
    packed = encode_error_object(d)
    src_end = 24 + 4 + 12 + 4  # "x\0" = 4 bytes, already aligned
    desc = struct.pack("<I", 0xFFFFFFFF) + struct.pack("<III", 3, 0, 3) + "ab\0".encode(
        "utf-16-le")
    aligned = packed[:src_end] + desc + b"\0\0" + packed[src_end + len(desc):]
    assert decode_error_object(aligned) == d


@pytest.mark.parametrize("data", [
    b"", b"\0" * 23, b"\0" * 24, b"\0" * 24 + struct.pack("<I", 5),
    b"\0" * 24 + struct.pack("<IIII", 0xFFFFFFFF, 10, 0, 10) + b"a\0",  # truncated Name
    b"\0" * 24 + struct.pack("<IIII", 0xFFFFFFFF, 2, 1, 2) + b"a\0\0\0",  # dwOffSet != 0
    b"\0" * 24 + struct.pack("<IIII", 0xFFFFFFFF, 1 << 20, 0, 1 << 20),  # too long
])
def test_malformed_error_object_raises_ndr_error(data: bytes) -> None:
    with pytest.raises(NdrError):
        decode_error_object(data)


def _wire_that(extents: list[tuple[uuid.UUID, bytes]]) -> object:
    m = dcom_idl()
    items: list[object] = [m.ORPC_EXTENT(id=i, size=len(b), data=b + b"\0" * (-len(b) % 8))
                           for i, b in extents]
    items += [None] * (len(items) % 2)
    that = orpcthat()
    that.extensions = m.ORPC_EXTENT_ARRAY(size=len(extents), reserved=0, extent=items)
    T = m.ORPCTHAT.__ndr__
    return decode(T, encode(T, that))


def test_unknown_extensions_are_skipped() -> None:
    d = ErrorDetails("described", None, None, 0, IID)
    good = error_extensions(d).extent[0]
    unknown = uuid.UUID("00000334-0000-0000-c000-000000000046")
    got = _wire_that([(unknown, b"\x01" * 13), (CLSID_ERROR_EXTENSION, bytes(good.data))])
    assert error_from_orpcthat(got) == d
    assert error_from_orpcthat(_wire_that([(unknown, b"zz")])) is None
    # an error extension that is not an OBJREF is skipped, not raised
    assert error_from_orpcthat(_wire_that([(CLSID_ERROR_EXTENSION, b"junk")])) is None
    assert error_from_orpcthat(orpcthat()) is None


class Failing:
    _com_interfaces_ = [calc_idl.ICalc]

    def Fail(self, hr: int) -> None:
        hr = hresult.unsigned(hr)  # the wire carries the signed LONG
        if hr == hresult.E_INVALIDARG:
            raise COMError(hr, "bad argument",
                           ErrorDetails("bad argument", "Failing.1", "calc.chm", 42, None))
        if hr == hresult.E_NOTIMPL:
            raise COMError(hr)  # no description: no extension
        raise COMError(hr, "plain description")


CLSID_Failing = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c09")


@pytest.fixture
def binding() -> object:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_Failing, Failing)
    srv.register_class(CLSID_Calc, Failing)
    srv.start_background()
    yield str(srv.bindings[0])
    srv.stop_background(1.0)


def test_description_and_source_reach_the_client(binding: str) -> None:
    calc = CoCreateInstance(CLSID_Failing, binding, calc_idl.ICalc)
    with pytest.raises(COMError) as info:
        calc.Fail(hresult.E_FAIL)
    assert info.value.hresult == hresult.E_FAIL and info.value.text == "plain description"
    assert info.value.details == ErrorDetails("plain description", None, None, 0, IID)
    with pytest.raises(COMError) as info:
        calc.Fail(hresult.E_INVALIDARG)
    assert info.value.details == ErrorDetails("bad argument", "Failing.1", "calc.chm", 42, IID)
    with pytest.raises(COMError) as info:
        calc.Fail(hresult.E_NOTIMPL)
    assert info.value.details is None and info.value.text == "E_NOTIMPL"
    calc.Release()


def test_async_client_decodes_error_info(binding: str) -> None:
    async def main() -> None:
        calc = await com_aio.CoCreateInstance(CLSID_Failing, binding, calc_idl.ICalc)
        with pytest.raises(COMError) as info:
            await calc.Fail(hresult.E_FAIL)
        assert info.value.text == "plain description"
        assert isinstance(info.value.details, ErrorDetails)
        await calc.Release()

    asyncio.run(asyncio.wait_for(main(), 30.0))
