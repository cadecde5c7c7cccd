/** The embedding example: the tav4j library as a dependency of one's own module. */
module dev.tav4j.example {
    requires dev.tav4j.model;
}
