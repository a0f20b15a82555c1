// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Registry of provider root certificates
/// @notice A provider publishes the DER of its root certificate; the chain keeps its sha256 fingerprint and the
/// DER is recoverable from the event log. Cross-provider TLS tunnels accept only per-tunnel certificates issued by
/// a root whose fingerprint is current here.
interface ICertificateRegistry {
    /// @notice A root certificate was published (or rotated: the previous one is no longer current).
    event RootCertificatePublished(address indexed provider, bytes32 indexed fingerprint, bytes der);
    /// @notice The provider revoked its root certificate.
    event RootCertificateRevoked(address indexed provider, bytes32 indexed fingerprint);

    error CertificateRegistryNotProvider(address account);
    error CertificateRegistryMalformedCertificate();
    error CertificateRegistryCertificateTooLarge(uint256 length, uint256 maxLength);
    error CertificateRegistryNoCertificate(address provider);

    /// @notice Publish (or rotate) the caller's root certificate. Registered providers only; `der` must be a
    /// DER SEQUENCE of at most 8192 bytes.
    function publishRootCertificate(bytes calldata der) external;

    /// @notice Revoke the caller's current root certificate.
    function revokeRootCertificate() external;

    /// @notice The provider's current root: fingerprint (sha256 of the DER) and publication time; zero if none.
    function rootCertificate(address provider) external view returns (bytes32 fingerprint, uint64 publishedAt);

    /// @notice Whether `fingerprint` is the provider's current root.
    function isRootCertificate(address provider, bytes32 fingerprint) external view returns (bool);
}
