// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AttrchainCheckpoints
/// @notice Verified checkpoints of one attrchain chain on an EVM L1 (README "Rollup checkpoints").
/// A checkpoint {chainId, height, blockHash, stateRoot, validatorSetHash} is accepted only with
/// EIP-712 signatures of more than 2/3 of the power of the checkpoint set stored here; the
/// checkpoint's validatorSetHash names the set that signs the next one, so a set change is
/// accepted by the same rule (Peggy / Gravity Bridge style).
contract AttrchainCheckpoints {
    struct Checkpoint {
        uint64 height;
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 validatorSetHash;
    }

    /// @notice One signature: `index` is the signer's position in the current set (strictly increasing across the list).
    struct Signature {
        uint256 index;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    bytes32 public constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version)");
    bytes32 public constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(string chainId,uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 validatorSetHash)");
    /// @dev secp256k1n / 2 (EIP-2): larger s values are malleable twins
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    string public chainId;
    bytes32 public immutable chainIdHash;
    bytes32 public immutable domainSeparator;

    /// @notice the current checkpoint set, signers by ascending address
    address[] public signers;
    uint256[] public powers;
    uint256 public totalPower;
    bytes32 public validatorSetHash;

    uint64 public latestHeight;
    bytes32 public latestBlockHash;
    bytes32 public latestStateRoot;
    /// @notice the block hash of every verified checkpoint height
    mapping(uint64 => bytes32) public blockHashAt;

    event CheckpointVerified(uint64 indexed height, bytes32 blockHash, bytes32 stateRoot, bytes32 validatorSetHash, uint256 signedPower, uint256 totalPower);
    event ValidatorSetUpdated(uint64 indexed height, bytes32 validatorSetHash, address[] signers, uint256[] powers);

    error StaleCheckpoint(uint64 height, uint64 latestHeight);
    error ConflictingCheckpoint(uint64 height, bytes32 verifiedBlockHash);
    error BadSignature(uint256 position);
    error SignersNotSorted(uint256 position);
    error InsufficientPower(uint256 signedPower, uint256 totalPower);
    error BadValidatorSet();
    error ValidatorSetMismatch(bytes32 expected, bytes32 got);

    constructor(string memory chainId_, address[] memory signers_, uint256[] memory powers_, uint64 startHeight) {
        chainId = chainId_;
        chainIdHash = keccak256(bytes(chainId_));
        domainSeparator = keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Attrchain Checkpoints"), keccak256("1")));
        latestHeight = startHeight;
        _setValidatorSet(startHeight, signers_, powers_);
    }

    /// @notice keccak256(abi.encode(signers, powers)): the validatorSetHash of a checkpoint set
    function hashValidatorSet(address[] memory signers_, uint256[] memory powers_) public pure returns (bytes32) {
        return keccak256(abi.encode(signers_, powers_));
    }

    /// @notice the EIP-712 digest the validators sign for `cp`
    function checkpointDigest(Checkpoint calldata cp) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(CHECKPOINT_TYPEHASH, chainIdHash, cp.height, cp.blockHash, cp.stateRoot, cp.validatorSetHash)
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    function signerCount() external view returns (uint256) {
        return signers.length;
    }

    /// @notice The latest verified checkpoint: height, block hash and state root.
    function latest() external view returns (uint64, bytes32, bytes32) {
        return (latestHeight, latestBlockHash, latestStateRoot);
    }

    /// @notice Verify and store a checkpoint. `newSigners`/`newPowers` are the set named by
    /// cp.validatorSetHash when it differs from the current one (empty otherwise).
    function submitCheckpoint(
        Checkpoint calldata cp,
        Signature[] calldata sigs,
        address[] calldata newSigners,
        uint256[] calldata newPowers
    ) external {
        bytes32 known = blockHashAt[cp.height];
        if (known != bytes32(0) && known != cp.blockHash) revert ConflictingCheckpoint(cp.height, known);
        if (cp.height <= latestHeight) revert StaleCheckpoint(cp.height, latestHeight);
        bytes32 digest = checkpointDigest(cp);
        uint256 signed;
        uint256 n = signers.length;
        for (uint256 i = 0; i < sigs.length; i++) {
            Signature calldata sg = sigs[i];
            if (sg.index >= n || (i > 0 && sg.index <= sigs[i - 1].index)) revert SignersNotSorted(i);
            if (uint256(sg.s) > HALF_N) revert BadSignature(i);
            address who = ecrecover(digest, sg.v, sg.r, sg.s);
            if (who == address(0) || who != signers[sg.index]) revert BadSignature(i);
            signed += powers[sg.index];
        }
        uint256 total = totalPower;
        if (signed * 3 <= total * 2) revert InsufficientPower(signed, total);

        latestHeight = cp.height;
        latestBlockHash = cp.blockHash;
        latestStateRoot = cp.stateRoot;
        blockHashAt[cp.height] = cp.blockHash;
        emit CheckpointVerified(cp.height, cp.blockHash, cp.stateRoot, cp.validatorSetHash, signed, total);
        if (cp.validatorSetHash != validatorSetHash) {
            bytes32 got = hashValidatorSet(newSigners, newPowers);
            if (got != cp.validatorSetHash) revert ValidatorSetMismatch(cp.validatorSetHash, got);
            _setValidatorSet(cp.height, newSigners, newPowers);
        }
    }

    function _setValidatorSet(uint64 height, address[] memory signers_, uint256[] memory powers_) private {
        uint256 n = signers_.length;
        if (n == 0 || n != powers_.length) revert BadValidatorSet();
        uint256 total;
        for (uint256 i = 0; i < n; i++) {
            if (signers_[i] == address(0) || (i > 0 && signers_[i] <= signers_[i - 1]) || powers_[i] == 0) revert BadValidatorSet();
            total += powers_[i];
        }
        signers = signers_;
        powers = powers_;
        totalPower = total;
        validatorSetHash = hashValidatorSet(signers_, powers_);
        emit ValidatorSetUpdated(height, validatorSetHash, signers_, powers_);
    }
}
