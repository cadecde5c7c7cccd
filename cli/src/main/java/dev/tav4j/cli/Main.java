package dev.tav4j.cli;

/** Entry point of the tav command. */
public final class Main {
    public static void main(String[] args) {
        System.out.println("tav4j");
    }
}
