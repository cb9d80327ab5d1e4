function Find-Ps7OnlySyntax
{
    <#
    .SYNOPSIS
        Lists the places in PowerShell source that Windows PowerShell 5.1 cannot run.
    .DESCRIPTION
        Parses the source with the PowerShell 7 parser, which knows the newer grammar and so builds
        AST nodes for it, and reports each node, command, parameter or variable that 5.1 lacks:
        the ternary operator, ?? and ??=, ?. and ?[], && and || pipeline chains, clean blocks,
        ForEach-Object -Parallel, cmdlets added in 6/7 (Get-Error, Join-String, Test-Json, ...),
        parameters added in 6/7 (ConvertFrom-Json -AsHashtable/-Depth/-NoEnumerate, Get-Content
        -AsByteStream, ...), and $IsWindows/$IsLinux/$IsMacOS/$IsCoreCLR, which 5.1 does not define.
        Type names are compared as strings, so the check itself also loads on 5.1.
    .PARAMETER Source
        The script text.
    .PARAMETER Path
        The file the text came from, for the report.
    #>
    param
    (
        [Parameter(Mandatory)] [string] $Source,
        [Parameter()] [string] $Path = '<source>'
    )

    $tokens = $null
    $parseErrors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($Source, $Path, [ref]$tokens, [ref]$parseErrors)
    foreach ($parseError in @($parseErrors))
    {
        if ($null -ne $parseError) { '{0}:{1}: parse error: {2}' -f $Path, $parseError.Extent.StartLineNumber, $parseError.Message }
    }

    $newCommands = @('Get-Error', 'Join-String', 'Test-Json', 'ConvertFrom-Markdown', 'Show-Markdown', 'Get-MarkdownOption',
        'Set-MarkdownOption', 'Get-Uptime', 'Remove-Alias', 'Remove-Service', 'Get-ExperimentalFeature',
        'Enable-ExperimentalFeature', 'Disable-ExperimentalFeature', 'Clear-RecycleBin', 'Update-List')
    $newParameters = @{
        'ForEach-Object' = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob')
        'ConvertFrom-Json' = @('AsHashtable', 'Depth', 'NoEnumerate')
        'ConvertTo-Json' = @('EscapeHandling', 'AsArray')
        'Get-Content' = @('AsByteStream')
        'Set-Content' = @('AsByteStream')
        'Add-Content' = @('AsByteStream')
        'Select-String' = @('Raw', 'NoEmphasis')
        'Invoke-RestMethod' = @('SkipCertificateCheck', 'Authentication', 'StatusCodeVariable', 'ResponseHeadersVariable')
        'Invoke-WebRequest' = @('SkipCertificateCheck', 'Authentication')
        'Start-Job' = @('WorkingDirectory')
        'Split-Path' = @('Extension', 'LeafBase')
        'Get-ChildItem' = @('FollowSymlink')
        'Out-File' = @('NoNewline')
        'Where-Object' = @('Not')
    }
    $newVariables = @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSNativeCommandArgumentPassing')

    $report = {
        param ($node, $what)
        '{0}:{1}: {2}: {3}' -f $Path, $node.Extent.StartLineNumber, $what, $node.Extent.Text.Split("`n")[0]
    }
    $nodes = $ast.FindAll({ $true }, $true)
    foreach ($node in $nodes)
    {
        $typeName = $node.GetType().Name
        switch ($typeName)
        {
            'TernaryExpressionAst' { & $report $node 'ternary operator' }
            'PipelineChainAst' { & $report $node '&& or || pipeline chain' }
            'BinaryExpressionAst' { if ([string]$node.Operator -eq 'QuestionQuestion') { & $report $node '?? operator' } }
            'AssignmentStatementAst' { if ([string]$node.Operator -eq 'QuestionQuestionEquals') { & $report $node '??= operator' } }
            'MemberExpressionAst' { if ($node.PSObject.Properties['NullConditional'] -and $node.NullConditional) { & $report $node '?. operator' } }
            'InvokeMemberExpressionAst' { if ($node.PSObject.Properties['NullConditional'] -and $node.NullConditional) { & $report $node '?. operator' } }
            'IndexExpressionAst' { if ($node.PSObject.Properties['NullConditional'] -and $node.NullConditional) { & $report $node '?[] operator' } }
            'ScriptBlockAst' { if ($node.PSObject.Properties['CleanBlock'] -and $null -ne $node.CleanBlock) { & $report $node 'clean block' } }
            'CommandAst'
            {
                $name = $node.GetCommandName()
                if ($name -and $newCommands -contains $name) { & $report $node "command $name (PowerShell 6+)" }
                if ($name -and $newParameters.ContainsKey($name))
                {
                    foreach ($element in $node.CommandElements)
                    {
                        if ($element -is [System.Management.Automation.Language.CommandParameterAst] -and $newParameters[$name] -contains $element.ParameterName)
                        {
                            & $report $element ("parameter -{0} of {1} (PowerShell 6+)" -f $element.ParameterName, $name)
                        }
                    }
                }
            }
            'VariableExpressionAst'
            {
                if ($newVariables -contains $node.VariablePath.UserPath -and $node.Parent -isnot [System.Management.Automation.Language.AssignmentStatementAst])
                {
                    & $report $node ('${0} (undefined in 5.1)' -f $node.VariablePath.UserPath)
                }
            }
        }
    }
}
