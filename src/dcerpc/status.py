"""Status numbers with their Windows / DCE names.

RPC_S_* and RPC_X_* are Win32 error numbers (winerror.h); nca_s_* are the DCE fault
codes carried in fault PDUs (C706 appendix E, [MS-RPCE] 2.2.2.9 / 3.1.1.5.5).
"""

from __future__ import annotations

# Win32 / RPC_STATUS values (winerror.h); seed-semantics §1.1.
RPC_S_OK = 0
ERROR_SUCCESS = 0
RPC_S_OUT_OF_MEMORY = 14
RPC_S_INVALID_ARG = 87
ERROR_MORE_DATA = 234
WAIT_TIMEOUT = 258
ERROR_ABANDONED_WAIT_0 = 735
RPC_S_ASYNC_CALL_PENDING = 997
ERROR_IO_PENDING = 997
RPC_S_TIMEOUT = 1460
RPC_S_INVALID_STRING_BINDING = 1700
RPC_S_WRONG_KIND_OF_BINDING = 1701
RPC_S_INVALID_BINDING = 1702
RPC_S_PROTSEQ_NOT_SUPPORTED = 1703
RPC_S_INVALID_RPC_PROTSEQ = 1704
RPC_S_INVALID_STRING_UUID = 1705
RPC_S_INVALID_ENDPOINT_FORMAT = 1706
RPC_S_INVALID_NET_ADDR = 1707
RPC_S_NO_ENDPOINT_FOUND = 1708
RPC_S_INVALID_TIMEOUT = 1709
RPC_S_OBJECT_NOT_FOUND = 1710
RPC_S_ALREADY_REGISTERED = 1711
RPC_S_TYPE_ALREADY_REGISTERED = 1712
RPC_S_ALREADY_LISTENING = 1713
RPC_S_NO_PROTSEQS_REGISTERED = 1714
RPC_S_NOT_LISTENING = 1715
RPC_S_UNKNOWN_MGR_TYPE = 1716
RPC_S_UNKNOWN_IF = 1717
RPC_S_NO_BINDINGS = 1718
RPC_S_NO_PROTSEQS = 1719
RPC_S_CANT_CREATE_ENDPOINT = 1720
RPC_S_OUT_OF_RESOURCES = 1721
RPC_S_SERVER_UNAVAILABLE = 1722
RPC_S_SERVER_TOO_BUSY = 1723
RPC_S_INVALID_NETWORK_OPTIONS = 1724
RPC_S_NO_CALL_ACTIVE = 1725
RPC_S_CALL_FAILED = 1726
RPC_S_CALL_FAILED_DNE = 1727
RPC_S_PROTOCOL_ERROR = 1728
RPC_S_UNSUPPORTED_TRANS_SYN = 1730
RPC_S_UNSUPPORTED_TYPE = 1732
RPC_S_INVALID_TAG = 1733
RPC_S_INVALID_BOUND = 1734
RPC_S_NO_ENTRY_NAME = 1735
RPC_S_INVALID_NAME_SYNTAX = 1736
RPC_S_UNSUPPORTED_NAME_SYNTAX = 1737
RPC_S_UUID_NO_ADDRESS = 1739
RPC_S_DUPLICATE_ENDPOINT = 1740
RPC_S_UNKNOWN_AUTHN_TYPE = 1741
RPC_S_MAX_CALLS_TOO_SMALL = 1742
RPC_S_STRING_TOO_LONG = 1743
RPC_S_PROTSEQ_NOT_FOUND = 1744
RPC_S_PROCNUM_OUT_OF_RANGE = 1745
RPC_S_BINDING_HAS_NO_AUTH = 1746
RPC_S_UNKNOWN_AUTHN_SERVICE = 1747
RPC_S_UNKNOWN_AUTHN_LEVEL = 1748
RPC_S_INVALID_AUTH_IDENTITY = 1749
RPC_S_UNKNOWN_AUTHZ_SERVICE = 1750
EPT_S_INVALID_ENTRY = 1751
EPT_S_CANT_PERFORM_OP = 1752
EPT_S_NOT_REGISTERED = 1753
RPC_S_NOTHING_TO_EXPORT = 1754
RPC_S_UNKNOWN_PRINCIPAL = 1755  # not used on the wire; kept for completeness
RPC_S_CANNOT_SUPPORT = 1764
RPC_S_ZERO_DIVIDE = 1767
RPC_S_ADDRESS_ERROR = 1768
RPC_S_FP_DIV_ZERO = 1769
RPC_S_FP_UNDERFLOW = 1770
RPC_S_FP_OVERFLOW = 1771
RPC_X_NO_MORE_ENTRIES = 1772
RPC_X_SS_CHAR_TRANS_OPEN_FAIL = 1773
RPC_X_SS_CHAR_TRANS_SHORT_FILE = 1774
RPC_X_SS_IN_NULL_CONTEXT = 1775
RPC_X_SS_CONTEXT_DAMAGED = 1777
RPC_X_SS_HANDLES_MISMATCH = 1778
RPC_X_SS_CANNOT_GET_CALL_HANDLE = 1779
RPC_X_NULL_REF_POINTER = 1780
RPC_X_ENUM_VALUE_OUT_OF_RANGE = 1781
RPC_X_BYTE_COUNT_TOO_SMALL = 1782
RPC_X_BAD_STUB_DATA = 1783
RPC_S_CALL_IN_PROGRESS = 1791
RPC_S_NO_MORE_BINDINGS = 1806
RPC_S_NO_INTERFACES = 1817
RPC_S_CALL_CANCELLED = 1818
RPC_S_BINDING_INCOMPLETE = 1819
RPC_S_COMM_FAILURE = 1820
RPC_S_UNSUPPORTED_AUTHN_LEVEL = 1821
RPC_S_NO_PRINC_NAME = 1822
RPC_S_NOT_RPC_ERROR = 1823
RPC_S_UUID_LOCAL_ONLY = 1824
RPC_S_SEC_PKG_ERROR = 1825
RPC_S_NOT_CANCELLED = 1826
RPC_X_INVALID_ES_ACTION = 1827
RPC_X_WRONG_ES_VERSION = 1828
RPC_X_WRONG_STUB_VERSION = 1829
RPC_X_INVALID_PIPE_OBJECT = 1830
RPC_X_WRONG_PIPE_ORDER = 1831
RPC_X_INVALID_PIPE_OPERATION = 1831
RPC_X_WRONG_PIPE_VERSION = 1832
RPC_S_GROUP_MEMBER_NOT_FOUND = 1898
RPC_S_INVALID_OBJECT = 1900
RPC_S_SEND_INCOMPLETE = 1913
RPC_S_INVALID_ASYNC_HANDLE = 1914
RPC_S_INVALID_ASYNC_CALL = 1915
RPC_X_PIPE_CLOSED = 1916
RPC_X_PIPE_DISCIPLINE_ERROR = 1917
RPC_X_PIPE_EMPTY = 1918
RPC_S_ACCESS_DENIED = 5
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
RPC_X_SS_CONTEXT_MISMATCH = 6  # winerror.h: an alias of ERROR_INVALID_HANDLE
ERROR_NOT_ENOUGH_MEMORY = 8
ERROR_OUTOFMEMORY = 14
ERROR_INVALID_PARAMETER = 87
ERROR_TIMEOUT = 1460

# Wait results (winbase.h).
WAIT_OBJECT_0 = 0
WAIT_ABANDONED_0 = 0x80
WAIT_IO_COMPLETION = 0xC0
WAIT_FAILED = 0xFFFFFFFF
INFINITE = 0xFFFFFFFF

# DCE fault statuses carried in fault PDUs (C706 appendix E; [MS-RPCE] 2.2.2.9).
nca_s_comm_failure = 0x1C010001
# Endpoint mapper statuses in ept_* out-parameters (C706 appendix N, DCE ept_s_*).
ept_s_cant_perform_op = 0x16C9A0CD
ept_s_invalid_entry = 0x16C9A0D3
ept_s_not_registered = 0x16C9A0D6
nca_s_op_rng_error = 0x1C010002
nca_s_unk_if = 0x1C010003
nca_s_wrong_boot_time = 0x1C010006
nca_s_you_crashed = 0x1C010009
nca_s_proto_error = 0x1C01000B
nca_s_out_args_too_big = 0x1C010013
nca_s_server_too_busy = 0x1C010014
nca_s_fault_string_too_long = 0x1C010015
nca_s_unsupported_type = 0x1C010017
nca_s_fault_int_div_by_zero = 0x1C000001
nca_s_fault_addr_error = 0x1C000002
nca_s_fault_fp_div_zero = 0x1C000003
nca_s_fault_fp_underflow = 0x1C000004
nca_s_fault_fp_overflow = 0x1C000005
nca_s_fault_invalid_tag = 0x1C000006
nca_s_fault_invalid_bound = 0x1C000007
nca_s_rpc_version_mismatch = 0x1C000008
nca_s_unspec_reject = 0x1C000009
nca_s_bad_actid = 0x1C00000A
nca_s_who_are_you_failed = 0x1C00000B
nca_s_manager_not_entered = 0x1C00000C
nca_s_fault_cancel = 0x1C00000D
nca_s_fault_ill_inst = 0x1C00000E
nca_s_fault_fp_error = 0x1C00000F
nca_s_fault_int_overflow = 0x1C000010
nca_s_fault_unspec = 0x1C000012
nca_s_fault_remote_comm_failure = 0x1C000013
nca_s_fault_pipe_empty = 0x1C000014
nca_s_fault_pipe_closed = 0x1C000015
nca_s_fault_pipe_order = 0x1C000016
nca_s_fault_pipe_discipline = 0x1C000017
nca_s_fault_pipe_comm_error = 0x1C000018
nca_s_fault_pipe_memory = 0x1C000019
nca_s_fault_context_mismatch = 0x1C00001A
nca_s_fault_remote_no_memory = 0x1C00001B
nca_s_invalid_pres_context_id = 0x1C00001C
nca_s_unsupported_authn_level = 0x1C00001D
nca_s_invalid_checksum = 0x1C00001F
nca_s_invalid_crc = 0x1C000020
nca_s_fault_user_defined = 0x1C000021
nca_s_fault_tx_open_failed = 0x1C000022
nca_s_fault_codeset_conv_error = 0x1C000023
nca_s_fault_object_not_found = 0x1C000024
nca_s_fault_no_client_stub = 0x1C000025
# [MS-RPCE] 2.2.2.9 / Samba DCERPC_FAULT_NDR: Windows puts the Win32 value itself in the fault.
nca_s_fault_ndr = 0x000006F7

_NAMES: dict[int, str] = {}
for _name, _value in list(globals().items()):
    if isinstance(_value, int) and not _name.startswith("_") and _name[0].isalpha():
        _NAMES.setdefault(_value, _name)
# Prefer the RPC spelling for values shared with a generic Win32 alias.
for _name in ("RPC_S_OK", "RPC_S_ACCESS_DENIED", "RPC_S_ASYNC_CALL_PENDING", "RPC_S_TIMEOUT",
              "RPC_S_OUT_OF_MEMORY", "RPC_S_INVALID_ARG", "RPC_X_SS_IN_NULL_CONTEXT",
              "RPC_X_WRONG_PIPE_ORDER"):
    _NAMES[globals()[_name]] = _name


def status_name(value: int) -> str:
    """The symbolic name of a status number, or its hex form when unknown."""
    return _NAMES.get(value, f"0x{value:08X}")
