function Get-HvrThumbprintError
{
    <#
    .SYNOPSIS
        Checks Hyper-V's rule "a certificate thumbprint exactly when the authentication type is Certificate".
    .DESCRIPTION
        Certificate (or CertificateAndKerberos on a server) without a thumbprint yields
        HvrThumbprintRequired; Kerberos with a thumbprint yields HvrThumbprintNotAllowed; both
        InvalidArgument. Without an authentication type (Set- cmdlets that keep the stored one) nothing is
        checked: the CLI knows the stored type. Returns the ErrorRecord, or nothing when valid, rather than
        throwing, so that the caller's -ErrorVariable holds only the error the cmdlet reports.
    .PARAMETER AuthenticationType
        The authentication type given, or nothing.
    .PARAMETER CertificateThumbprint
        The thumbprint given, or nothing.
    .EXAMPLE
        $problem = Get-HvrThumbprintError -AuthenticationType Certificate -CertificateThumbprint $thumb
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param
    (
        [Parameter()]
        [AllowNull()]
        [object]
        $AuthenticationType,

        [Parameter()]
        [AllowNull()]
        [AllowEmptyString()]
        [string]
        $CertificateThumbprint
    )

    if ($null -eq $AuthenticationType) { return }
    $typeName = [string]$AuthenticationType
    $needsCertificate = $typeName -like 'Certificate*'
    if ($needsCertificate -and [string]::IsNullOrWhiteSpace($CertificateThumbprint))
    {
        New-HvrErrorRecord -ErrorId 'HvrThumbprintRequired' -Category InvalidArgument -TargetObject $typeName `
            -Message "-CertificateThumbprint is required when the authentication type is $typeName."
    }
    elseif (-not $needsCertificate -and -not [string]::IsNullOrWhiteSpace($CertificateThumbprint))
    {
        New-HvrErrorRecord -ErrorId 'HvrThumbprintNotAllowed' -Category InvalidArgument -TargetObject $typeName `
            -Message "-CertificateThumbprint is only valid when the authentication type is Certificate, not $typeName."
    }
}
