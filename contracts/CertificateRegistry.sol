// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ICertificateRegistry} from "./interfaces/ICertificateRegistry.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";

/// @title Registry of provider root certificates
/// @notice See {ICertificateRegistry}. Only the sha256 fingerprint and the publication time are stored; the DER
/// itself lives in the `RootCertificatePublished` log, where any peer can fetch it and check it against the
/// fingerprint.
contract CertificateRegistry is ICertificateRegistry {
    struct Root {
        bytes32 fingerprint;
        uint64 publishedAt;
    }

    uint256 private constant MAX_DER_LENGTH = 8192;
    bytes1 private constant DER_SEQUENCE = 0x30;

    IProviderRegistry private immutable _registry;
    mapping(address provider => Root) private _roots;

    /// @param registry The ProviderRegistry that says who is a provider.
    constructor(IProviderRegistry registry) {
        _registry = registry;
    }

    /// @notice The ProviderRegistry consulted on publication.
    function providerRegistry() external view returns (IProviderRegistry) {
        return _registry;
    }

    /// @inheritdoc ICertificateRegistry
    /// @dev Only the outer tag is checked (an X.509 certificate is a DER SEQUENCE): parsing X.509 on chain would
    /// cost much and prove little, since peers validate the certificate chain themselves.
    function publishRootCertificate(bytes calldata der) external {
        if (!_registry.isProvider(msg.sender)) revert CertificateRegistryNotProvider(msg.sender);
        uint256 length = der.length;
        if (length == 0 || der[0] != DER_SEQUENCE) revert CertificateRegistryMalformedCertificate();
        if (length > MAX_DER_LENGTH) revert CertificateRegistryCertificateTooLarge(length, MAX_DER_LENGTH);

        bytes32 fingerprint = sha256(der);
        _roots[msg.sender] = Root(fingerprint, uint64(block.timestamp));
        emit RootCertificatePublished(msg.sender, fingerprint, der);
    }

    /// @inheritdoc ICertificateRegistry
    function revokeRootCertificate() external {
        bytes32 fingerprint = _roots[msg.sender].fingerprint;
        if (fingerprint == bytes32(0)) revert CertificateRegistryNoCertificate(msg.sender);
        delete _roots[msg.sender];
        emit RootCertificateRevoked(msg.sender, fingerprint);
    }

    /// @inheritdoc ICertificateRegistry
    function rootCertificate(address provider) external view returns (bytes32 fingerprint, uint64 publishedAt) {
        Root memory root = _roots[provider];
        return (root.fingerprint, root.publishedAt);
    }

    /// @inheritdoc ICertificateRegistry
    /// @dev The zero fingerprint is never current: it is what an empty entry reads.
    function isRootCertificate(address provider, bytes32 fingerprint) external view returns (bool) {
        return fingerprint != bytes32(0) && _roots[provider].fingerprint == fingerprint;
    }
}
