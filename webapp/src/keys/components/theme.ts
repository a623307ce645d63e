// The few host theme colours we use (Pluggable passes the user's theme), with fallbacks.
export type Theme = Record<string, string | undefined> | undefined;

export function colours(theme: Theme) {
    return {
        bg: theme?.centerChannelBg || '#ffffff',
        fg: theme?.centerChannelColor || '#3f4350',
        button: theme?.buttonBg || '#1c58d9',
        buttonText: theme?.buttonColor || '#ffffff',
        error: theme?.errorTextColor || '#d24b4e',
        warning: theme?.awayIndicator || '#ffbc1f',
        success: theme?.onlineIndicator || '#3db887',
    };
}
